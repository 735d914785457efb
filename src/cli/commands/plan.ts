/**
 * `openfront plan --dir <project>` and `openfront apply --dir <project>` (docs/safe-changes.md#plan-and-apply).
 *
 * plan exits 0 when the node matches the project, 2 when applying would change something (like terraform's
 * -detailed-exitcode), 1 on error. apply makes the changes as ONE release whose If-Match values are the ETags the plan
 * saw: with `--plan <file>` (written by `plan --out`), those of that saved plan, so a change made by someone else
 * since the plan was reviewed refuses the apply.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { ReleaseJson } from '../../state/releases.js';
import { describeApiError, nativeRequest, resolveClientConfig, withApiOptions, type ApiOptions } from '../client.js';
import { isUsageError, readJsonFile, usageError } from '../input.js';
import { planProject, releaseOfPlan, renderPlan, type ProjectPlan } from '../project-plan.js';
import { waitQuery, withWaitOption, withWaitParams } from '../wait.js';
import { describeRelease } from './release.js';

type Options = ApiOptions & { dir?: string; out?: string; plan?: string; json?: boolean; wait?: string | boolean; description?: string };

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

function requireDir(options: Options): string {
  if (options.dir === undefined) throw usageError('--dir <project directory> is required');
  return options.dir;
}

export function register(program: Command): void {
  withApiOptions(
    program
      .command('plan')
      .description('compare a project directory (config, function files, store seeds) with the running node; exit 0 no changes, 2 changes, 1 error')
      .option('--dir <dir>', 'the project directory (holds openfront.config.yaml)')
      .option('--out <file>', 'save the plan, with the ETags it saw, for `openfront apply --plan`')
      .option('--json', 'print the plan as JSON'),
  ).action(async (options: Options) => {
    const config = resolveClientConfig(options);
    let plan: ProjectPlan;
    try {
      plan = await planProject(requireDir(options), config);
    } catch (err) {
      throw isUsageError(err) ? err : describeApiError(err, config);
    }
    if (options.out !== undefined) writeFileSync(options.out, `${JSON.stringify(plan, null, 2)}\n`);
    print(options.json ? JSON.stringify(plan, null, 2) : renderPlan(plan));
    process.exitCode = plan.changes ? 2 : 0;
  });

  withWaitOption(
    withApiOptions(
      program
        .command('apply')
        .description('make the running node match a project directory, as one release with If-Match on everything the plan saw')
        .option('--dir <dir>', 'the project directory (holds openfront.config.yaml)')
        .option('--plan <file>', 'a plan saved by `openfront plan --out`: apply exactly it, refused if anything moved since')
        .option('--description <text>', 'the release description (default: "openfront apply <dir>")')
        .option('--json', 'print the applied release as JSON'),
    ),
  ).action(async (options: Options) => {
    const config = resolveClientConfig(options);
    try {
      const dir = requireDir(options);
      let plan: ProjectPlan;
      if (options.plan !== undefined) {
        // Exactly what was reviewed, with the ETags it saw: the API refuses it if anything moved since.
        plan = readJsonFile(options.plan, 'plan') as ProjectPlan;
        if (typeof plan !== 'object' || plan === null || !Array.isArray(plan.functions) || !Array.isArray(plan.stores)) {
          throw usageError(`${options.plan} is not a plan written by openfront plan --out`);
        }
      } else {
        plan = await planProject(dir, config);
      }
      if (!plan.changes) {
        print('No changes: the node matches the project.');
        return;
      }
      print(renderPlan(plan));
      const created = (await nativeRequest(config, 'POST', '/openfront/v1/releases', {
        body: releaseOfPlan(plan, options.description ?? `openfront apply ${dir}`),
      })) as ReleaseJson;
      const applied = (await nativeRequest(
        config,
        'POST',
        withWaitParams(`/openfront/v1/releases/${created.id}/apply`, waitQuery(options.wait)),
      )) as ReleaseJson;
      print(options.json ? JSON.stringify(applied, null, 2) : `applied ${describeRelease(applied)}`);
    } catch (err) {
      throw isUsageError(err) ? err : describeApiError(err, config);
    }
  });
}
