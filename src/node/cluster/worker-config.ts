/**
 * The edge config as one edge worker of `openfront start --workers N` serves it (docs/deploy.md, "Cache per worker").
 */
import { join } from 'node:path';
import type { EdgeConfig } from '../../config/types.js';
import type { WorkerStart } from './protocol.js';

/**
 * The config as this worker serves it: its disk tier in its own directory, `w<index>` (emptied when the tier starts,
 * so it must not be another worker's), with its share of the disk budget (docs/deploy.md, "Cache per worker").
 */
export function workerConfig(config: EdgeConfig, place: Pick<WorkerStart, 'index' | 'workerCount' | 'cacheDir'>): EdgeConfig {
  const cache = config.server.cache;
  return {
    ...config,
    server: {
      ...config.server,
      cache: {
        ...cache,
        diskDir: join(cache.diskDir ?? place.cacheDir, `w${place.index}`),
        diskBytes: Math.floor(cache.diskBytes / place.workerCount),
      },
    },
  };
}
