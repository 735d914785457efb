/**
 * `openfront kvs owner <store>` and `openfront function owner <name>`: set who answers for a store or function and
 * its labels (docs/safe-changes.md, "Permissions and ownership"), through the native API. Also the lookup the list
 * commands use to show them: the AWS list shapes have no field for owners.
 */
import type { Command } from 'commander';
import { openFrontError } from '../../errors.js';
import { labelsText } from '../../state/ownership.js';
import { describeApiError, nativeRequest, resolveClientConfig, withApiOptions, type ApiClientConfig, type ApiOptions } from '../client.js';

interface OwnerOptions extends ApiOptions {
  owner?: string;
  label: string[];
  clearLabels?: boolean;
  json?: boolean;
}

export interface OwnershipLine {
  name: string;
  owner: string | null;
  labels: Record<string, string>;
}

const PATHS = {
  store: { one: (name: string) => `/openfront/v1/key-value-stores/${encodeURIComponent(name)}/ownership`, all: '/openfront/v1/ownership/key-value-stores' },
  function: { one: (name: string) => `/openfront/v1/functions/${encodeURIComponent(name)}/ownership`, all: '/openfront/v1/ownership/functions' },
};

function parseLabel(text: string, previous: string[]): string[] {
  if (!/^[^=]+=/.test(text)) throw openFrontError('CLI_USAGE', `--label takes name=value (e.g. env=prod), got ${JSON.stringify(text)}`);
  return [...previous, text];
}

/** Every store's (function's) owner and labels, by name. */
export async function ownershipByName(config: ApiClientConfig, kind: 'store' | 'function'): Promise<Map<string, OwnershipLine>> {
  const answer = (await nativeRequest(config, 'GET', PATHS[kind].all)) as { items: OwnershipLine[] };
  return new Map(answer.items.map((item) => [item.name, item]));
}

/** `owner team-x  labels env=prod` for a list line. */
export function ownershipColumns(line: OwnershipLine | undefined): string {
  return `owner ${line?.owner ?? '-'}${line && Object.keys(line.labels).length > 0 ? `  labels ${labelsText(line.labels)}` : ''}`;
}

/** Adds `owner` to the `kvs` (kind "store") or `function` command. */
export function registerOwnerCommand(parent: Command, kind: 'store' | 'function'): void {
  const what = kind === 'store' ? 'store' : 'function';
  withApiOptions(parent.command('owner'))
    .description(`Set the owner and labels of a ${what} (shown by list and in the audit records of writes to it)`)
    .argument('<name>', `${what} name`)
    .option('--owner <owner>', 'who answers for it: a team, a person, an access key id')
    .option('--label <name=value>', 'a label; repeat for several. Replaces every label the resource had', parseLabel, [] as string[])
    .option('--clear-labels', 'remove every label')
    .option('--json', 'print JSON')
    .action(async (name: string, options: OwnerOptions) => {
      const config = resolveClientConfig(options);
      if (options.owner === undefined && options.label.length === 0 && !options.clearLabels) {
        throw openFrontError('CLI_USAGE', 'give --owner, --label name=value or --clear-labels');
      }
      if (options.clearLabels && options.label.length > 0) throw openFrontError('CLI_USAGE', '--clear-labels and --label exclude each other');
      const labels = options.clearLabels
        ? {}
        : options.label.length === 0
          ? undefined
          : Object.fromEntries(options.label.map((text) => [text.slice(0, text.indexOf('=')), text.slice(text.indexOf('=') + 1)]));
      let answer: OwnershipLine;
      try {
        answer = (await nativeRequest(config, 'PUT', PATHS[kind].one(name), {
          body: { ...(options.owner === undefined ? {} : { owner: options.owner }), ...(labels === undefined ? {} : { labels }) },
        })) as OwnershipLine;
      } catch (err) {
        throw describeApiError(err, config);
      }
      process.stdout.write(options.json ? `${JSON.stringify(answer)}\n` : `${answer.name}  ${ownershipColumns(answer)}\n`);
    });
}
