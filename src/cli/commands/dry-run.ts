/**
 * `openfront dry-run`: replays a distribution's recorded traffic through proposed function code and/or store data
 * and prints which decisions would change (`POST /openfront/v1/dry-run`; docs/safe-changes.md). Exit status: 0 when
 * the changes are within the threshold (default: none allowed), 1 when they are not, when the run could not finish
 * in time, or when the API refused; 2 for a bad command line. So a CI job can gate a change on it.
 */
import { statSync } from 'node:fs';
import type { Command } from 'commander';
import { DRY_RUN_PATH } from '../../control/dry-run-api.js';
import { MAX_CHANGE_SET_BYTES } from '../../kvs/change-set.js';
import type { ReplayDecision } from '../../edge/dry-run/decision.js';
import type { DryRunAnswer } from '../../node/dry-run-service.js';
import { describeApiError, nativeRequest, resolveClientConfig, withApiOptions, type ApiOptions } from '../client.js';
import { isUsageError, readInputFile, readJsonFile, usageError } from '../input.js';

interface DryRunOptions extends ApiOptions {
  distribution: string;
  function?: string;
  code?: string;
  runtime?: string;
  kvsChanges?: string;
  maxChanged?: string;
  maxChangedRatio?: string;
  maxRequests?: string;
  examples?: string;
  timeout?: string;
  json?: boolean;
}

export function register(program: Command): void {
  withApiOptions(program.command('dry-run'))
    .description("Replay a distribution's recorded requests through proposed function code and KVS data; report the decisions that change")
    .requiredOption('--distribution <id>', 'the distribution whose recorded traffic is replayed')
    .option('--function <name>', 'the function to replace (with --code)')
    .option('--code <file>', 'the proposed code of --function')
    .option('--runtime <runtime>', "the proposed code's runtime (default: the LIVE version's)")
    .option('--kvs-changes <file>', 'a change set: {"stores": {"<store>": {"puts": [{"key", "value"}], "deletes": ["key"]}}}')
    .option('--max-changed <n>', 'pass with at most n changed decisions (default 0, unless --max-changed-ratio is given)')
    .option('--max-changed-ratio <r>', 'pass with at most this fraction (0-1) of the replayed decisions changed')
    .option('--max-requests <n>', 'replay at most the n newest recorded requests (default 1000, at most 10000)')
    .option('--examples <n>', 'changed requests shown (default 10, at most 100)')
    .option('--timeout <seconds>', 'stop replaying after this long (default 30, at most 120); an unfinished run fails')
    .option('--json', 'print the report as JSON')
    .action(async (options: DryRunOptions) => {
      let body: Record<string, unknown>;
      try {
        body = requestBody(options);
      } catch (err) {
        if (!isUsageError(err)) throw err;
        process.stderr.write(`openfront dry-run: ${err.message}\n`);
        process.exitCode = 2;
        return;
      }
      const config = resolveClientConfig(options);
      let answer: DryRunAnswer;
      try {
        answer = (await nativeRequest(config, 'POST', DRY_RUN_PATH, { body })) as DryRunAnswer;
      } catch (err) {
        throw describeApiError(err, config);
      }
      process.stdout.write(options.json ? `${JSON.stringify(answer, null, 2)}\n` : formatAnswer(answer));
      if (!answer.pass) process.exitCode = 1;
    });
}

function requestBody(options: DryRunOptions): Record<string, unknown> {
  const body: Record<string, unknown> = { distributionId: options.distribution };
  if ((options.function === undefined) !== (options.code === undefined)) throw usageError('--function and --code go together');
  if (options.runtime !== undefined && options.function === undefined) throw usageError('--runtime applies to --function');
  if (options.function !== undefined && options.code !== undefined) {
    body.function = {
      name: options.function,
      code: readInputFile(options.code, 'code'),
      ...(options.runtime === undefined ? {} : { runtime: options.runtime }),
    };
  }
  if (options.kvsChanges !== undefined) {
    let size = 0;
    try {
      size = statSync(options.kvsChanges).size;
    } catch {
      // readJsonFile names the problem.
    }
    if (size > 2 * MAX_CHANGE_SET_BYTES) throw usageError(`change set file "${options.kvsChanges}" is larger than ${2 * MAX_CHANGE_SET_BYTES} bytes`);
    body.changeSet = readJsonFile(options.kvsChanges, 'change set');
  }
  if (body.function === undefined && body.changeSet === undefined) throw usageError('nothing to try: give --function and --code, --kvs-changes, or both');
  const integer = (text: string | undefined, flag: string, min: number, max: number): number | undefined => {
    if (text === undefined) return undefined;
    if (!/^\d{1,9}$/.test(text) || Number(text) < min || Number(text) > max)
      throw usageError(`${flag} must be a whole number from ${min} to ${max}, got "${text}"`);
    return Number(text);
  };
  const set = (name: string, value: number | undefined): void => {
    if (value !== undefined) body[name] = value;
  };
  set('maxChanged', integer(options.maxChanged, '--max-changed', 0, 1_000_000_000));
  set('maxRequests', integer(options.maxRequests, '--max-requests', 1, 10_000));
  set('maxExamples', integer(options.examples, '--examples', 0, 100));
  const timeout = options.timeout === undefined ? undefined : Number(options.timeout);
  if (timeout !== undefined && !(/^\d{1,3}(\.\d{1,3})?$/.test(options.timeout!) && timeout >= 0.1 && timeout <= 120))
    throw usageError(`--timeout must be a number of seconds from 0.1 to 120, got "${options.timeout}"`);
  set('timeoutMs', timeout === undefined ? undefined : Math.round(timeout * 1000));
  if (options.maxChangedRatio !== undefined) {
    const ratio = Number(options.maxChangedRatio);
    if (!/^\d(\.\d{1,6})?$/.test(options.maxChangedRatio) || !(ratio >= 0 && ratio <= 1))
      throw usageError(`--max-changed-ratio must be a number from 0 to 1, got "${options.maxChangedRatio}"`);
    body.maxChangedRatio = ratio;
  }
  return body;
}

export function formatAnswer(answer: DryRunAnswer): string {
  const lines: string[] = [];
  const tried = [
    ...(answer.function === undefined ? [] : [`function ${answer.function.name} (LIVE version ${answer.function.currentVersion ?? 'none'} → proposed code)`]),
    ...answer.stores.map((s) => `store ${s.name} (+${s.puts} puts, ${s.deletes} deletes)`),
  ];
  lines.push(`Dry run of distribution ${answer.distributionId}: ${tried.join(', ')}`);
  lines.push(`  replayed   ${answer.replayed} recorded requests in ${answer.elapsedMs} ms${answer.complete ? '' : ' (stopped at the time limit)'}`);
  const kinds = Object.entries(answer.byKind)
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${kind} ${n}`);
  lines.push(`  changed    ${answer.changed}${kinds.length === 0 ? '' : ` (${kinds.join(', ')})`}`);
  lines.push(`  unchanged  ${answer.unchanged}`);
  if (answer.unstable > 0) lines.push(`  unstable   ${answer.unstable} (decided differently on a second run of the same code: not counted)`);
  if (answer.examples.length > 0) {
    lines.push('', answer.changed > answer.examples.length ? `Examples (${answer.examples.length} of ${answer.changed}):` : 'Changes:');
    for (const example of answer.examples) {
      const q = example.request.querystring === '' ? '' : `?${example.request.querystring}`;
      lines.push(`  ${example.request.method} ${example.request.uri}${q}   [${example.kinds.join(', ')}]`);
      lines.push(`    before: ${describeDecision(example.before)}`);
      lines.push(`    after:  ${describeDecision(example.after)}`);
    }
  }
  lines.push('', answer.pass ? 'PASS: within the threshold' : `FAIL: ${answer.reasons.join('; ')}`);
  return `${lines.join('\n')}\n`;
}

function describeDecision(d: ReplayDecision): string {
  const parts: string[] = [];
  if (d.outcome === 'origin') parts.push(`to origin ${d.origin ?? '?'} ${d.uri ?? ''}`.trimEnd());
  if (d.status !== undefined) parts.push(String(d.status));
  if (d.location !== undefined) parts.push(`location ${d.location}`);
  if (d.error !== undefined) parts.push(d.error);
  if (d.cacheKey !== undefined) parts.push(`cache key ${JSON.stringify(d.cacheKey)}`);
  return parts.join(', ');
}
