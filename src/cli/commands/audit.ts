/** `openfront audit`: who changed what, from the API's audit log (`GET /openfront/v1/audit`). */
import type { Command } from 'commander';
import type { AuditRecordJson } from '../../control/native-api.js';
import { describeApiError, nativeRequest, resolveClientConfig, withApiOptions, type ApiOptions } from '../client.js';

interface AuditOptions extends ApiOptions {
  store?: string;
  key?: string;
  actor?: string;
  since?: string;
  until?: string;
  limit?: string;
  json?: boolean;
}

function describeChange(record: AuditRecordJson): string {
  const keys =
    record.keys.length === 0
      ? ''
      : record.keys.length <= 3
        ? ` keys=${record.keys.join(',')}`
        : ` keys=${record.keys.slice(0, 3).join(',')},…(${record.keys.length})`;
  const etags = record.etagFrom || record.etagTo ? ` ${record.etagFrom ?? '-'} → ${record.etagTo ?? '-'}` : '';
  // perms (issue 15): what a refused call wanted, and who owns what a write changed.
  const denied = record.operation === 'AccessDenied' ? ` ${String(record.detail?.action)}:${String(record.detail?.resource)}` : '';
  const owner = typeof record.detail?.owner === 'string' ? ` owner=${record.detail.owner}` : '';
  const subject = record.storeName ?? (record.operation === 'AccessDenied' ? undefined : record.functionName);
  return `${record.at}  ${record.accessKeyId}  ${record.operation}${subject ? ` ${subject}` : ''}${denied}${keys}${etags}${owner}`;
}

export function register(program: Command): void {
  withApiOptions(program.command('audit'))
    .description('Show audit records (newest first)')
    .option('--store <name>', 'only this store (name or id)')
    .option('--key <key>', 'only changes to this key')
    .option('--actor <accessKeyId>', 'only changes made with this access key')
    .option('--since <time>', 'ISO-8601 time or epoch seconds')
    .option('--until <time>', 'ISO-8601 time or epoch seconds')
    .option('--limit <n>', 'at most this many records (default 100)')
    .option('--json', 'print JSON')
    .action(async (options: AuditOptions) => {
      const config = resolveClientConfig(options);
      const query = new URLSearchParams();
      const filters: Array<[string, string | undefined]> = [
        ['store', options.store],
        ['key', options.key],
        ['accessKeyId', options.actor],
        ['since', options.since],
        ['until', options.until],
        ['limit', options.limit],
      ];
      for (const [name, value] of filters) if (value !== undefined) query.set(name, value);
      // URLSearchParams writes spaces as "+", which the API (like AWS) reads literally.
      const search = query.toString().replace(/\+/g, '%20');
      let items: AuditRecordJson[];
      try {
        items = ((await nativeRequest(config, 'GET', `/openfront/v1/audit${search ? `?${search}` : ''}`)) as { items: AuditRecordJson[] }).items;
      } catch (err) {
        throw describeApiError(err, config);
      }
      if (options.json) {
        process.stdout.write(`${JSON.stringify(items)}\n`);
        return;
      }
      if (items.length === 0) process.stdout.write('No audit records match.\n');
      for (const record of items) process.stdout.write(`${describeChange(record)}\n`);
    });
}
