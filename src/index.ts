/**
 * OpenFront's front door: the engine for users' own tests.
 *
 *   import { loadFunction } from 'openfront';
 *   const fn = await loadFunction(code, { runtime: 'cloudfront-js-2.0' });
 *   const result = await fn.run(event, { kvs: { 'some-key': 'value' } });
 */
export * from './runtime/index.js';
export { MapSnapshot, type KvsSnapshot, type KvsSnapshotSource, type KvsMeta } from './kvs/snapshot.js';
export { OpenFrontError, isOpenFrontError, ErrorCatalog, type ErrorCode } from './errors.js';
