/**
 * `openfront release …`: function versions and store changes that go LIVE as one, and are rolled back as one
 * (docs/safe-changes.md#releases), through `/openfront/v1/releases`.
 */
import type { Command } from 'commander';
import type { ReleaseJson } from '../../state/releases.js';
import { apiAction, nativeRequest, withApiOptions, type ApiClientConfig, type ApiOptions } from '../client.js';
import { readInputFile, readJsonFile, usageError } from '../input.js';
import { waitQuery, withWaitOption, withWaitParams } from '../wait.js';

type Options = ApiOptions & {
  json?: boolean;
  wait?: string | boolean;
  function?: string;
  code?: string;
  version?: string;
  kvsChanges?: string;
  description?: string;
  limit?: string;
};

const PATH = '/openfront/v1/releases';

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

function action<A extends unknown[]>(run: (config: ApiClientConfig, options: Options, ...args: A) => Promise<void>) {
  return apiAction<Options, A>(run);
}

/** One line per part: what the release changes. */
export function describeRelease(release: ReleaseJson): string {
  const lines = [`${release.id}  ${release.status}${release.description ? `  ${release.description}` : ''}`];
  for (const fn of release.functions) {
    const result = (release.rolledBack ?? release.applied)?.functions.find((f) => f.name === fn.name);
    const target = fn.version !== undefined ? `version ${fn.version}` : `new code (${fn.code!.length} characters)`;
    lines.push(`  function ${fn.name}: ${target}${result ? ` — LIVE ${result.previousVersion} → ${result.version}` : ''}`);
  }
  for (const [name, change] of Object.entries(release.changes.stores)) {
    const result = (release.rolledBack ?? release.applied)?.stores[name];
    lines.push(
      `  store ${name}: ${change.puts.length} put(s), ${change.deletes.length} delete(s)${result ? ` — version ${result.versionBefore} → ${result.version}` : ''}`,
    );
  }
  if (release.error) lines.push(`  failed: ${release.error.message}`);
  return lines.join('\n');
}

function bodyFromOptions(file: string | undefined, options: Options): unknown {
  if (file !== undefined) {
    if (options.function !== undefined || options.kvsChanges !== undefined) throw usageError('give a release file, or --function/--kvs-changes, not both');
    return readJsonFile(file, 'release');
  }
  const body: Record<string, unknown> = {};
  if (options.description !== undefined) body.description = options.description;
  if (options.function !== undefined) {
    if ((options.code === undefined) === (options.version === undefined)) throw usageError('--function needs exactly one of --code <file> and --version <n>');
    if (options.version !== undefined && !/^[1-9]\d*$/.test(options.version)) throw usageError(`--version must be a version number, got "${options.version}"`);
    body.function =
      options.code !== undefined
        ? { name: options.function, code: readInputFile(options.code, 'function code') }
        : { name: options.function, version: Number(options.version) };
  } else if (options.code !== undefined || options.version !== undefined) {
    throw usageError('--code and --version go with --function <name>');
  }
  if (options.kvsChanges !== undefined) body.changes = readJsonFile(options.kvsChanges, 'change set');
  if (body.function === undefined && body.changes === undefined) throw usageError('give a release file, or --function and/or --kvs-changes');
  return body;
}

export function register(program: Command): void {
  const release = program.command('release').description('apply a function version and store changes as one, and roll them back as one');

  withApiOptions(
    release
      .command('create [file]')
      .description('validate and store a release (from a JSON file, or from --function/--code/--version/--kvs-changes)')
      .option('--function <name>', 'the function to release')
      .option('--code <file>', 'new code for --function (a new version)')
      .option('--version <n>', 'an existing version of --function to make LIVE')
      .option('--kvs-changes <file>', 'a change set: {"stores": {"<name>": {"puts": [{"key","value"}], "deletes": ["k"]}}}')
      .option('--description <text>', 'what the release does')
      .option('--json', 'print the release as JSON'),
  ).action(
    action(async (config, options, file: string | undefined) => {
      const created = (await nativeRequest(config, 'POST', PATH, { body: bodyFromOptions(file, options) })) as ReleaseJson;
      print(options.json ? JSON.stringify(created, null, 2) : `created ${describeRelease(created)}\napply it with: openfront release apply ${created.id}`);
    }),
  );

  withWaitOption(
    withApiOptions(
      release.command('apply <id>').description('apply a created release: its store changes and LIVE moves as one').option('--json', 'print JSON'),
    ),
  ).action(
    action(async (config, options, id: string) => {
      const applied = (await nativeRequest(config, 'POST', withWaitParams(`${PATH}/${encodeURIComponent(id)}/apply`, waitQuery(options.wait)))) as ReleaseJson;
      print(options.json ? JSON.stringify(applied, null, 2) : `applied ${describeRelease(applied)}`);
    }),
  );

  withWaitOption(
    withApiOptions(
      release
        .command('rollback <id>')
        .description('restore the LIVE versions and store values an applied release changed (new audited writes)')
        .option('--json', 'print JSON'),
    ),
  ).action(
    action(async (config, options, id: string) => {
      const rolled = (await nativeRequest(
        config,
        'POST',
        withWaitParams(`${PATH}/${encodeURIComponent(id)}/rollback`, waitQuery(options.wait)),
      )) as ReleaseJson;
      print(options.json ? JSON.stringify(rolled, null, 2) : `rolled back ${describeRelease(rolled)}`);
    }),
  );

  withApiOptions(
    release.command('list').description('releases, newest first').option('--limit <n>', 'at most n (default 100)').option('--json', 'print JSON'),
  ).action(
    action(async (config, options) => {
      const page = (await nativeRequest(config, 'GET', `${PATH}${options.limit ? `?limit=${encodeURIComponent(options.limit)}` : ''}`)) as {
        items: Array<{ id: string; status: string; description: string; created: string; functions: Array<{ name: string }>; stores: Record<string, unknown> }>;
      };
      if (options.json) return print(JSON.stringify(page.items, null, 2));
      if (page.items.length === 0) return print('no releases');
      for (const item of page.items) {
        const parts = [...item.functions.map((f) => `function ${f.name}`), ...Object.keys(item.stores).map((s) => `store ${s}`)].join(', ');
        print(`${item.id}  ${item.status.padEnd(11)}  ${item.created}  ${parts}${item.description ? `  — ${item.description}` : ''}`);
      }
    }),
  );

  withApiOptions(release.command('show <id>').description('one release, whole, as JSON')).action(
    action(async (config, _options, id: string) => {
      print(JSON.stringify(await nativeRequest(config, 'GET', `${PATH}/${encodeURIComponent(id)}`), null, 2));
    }),
  );
}
