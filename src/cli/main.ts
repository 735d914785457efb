#!/usr/bin/env -S node --expose-gc
/**
 * The `openfront` command: a thin shell over the library. Each file in ./commands registers one command group,
 * so command groups can be added without touching this file.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { isOpenFrontError } from '../errors.js';

export interface CommandModule {
  register(program: Command): void;
}

// `openfront … | head` closes stdout early: that is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

async function main(argv: string[]): Promise<void> {
  const program = new Command('openfront')
    .description('Run CloudFront Functions and a CloudFront-compatible KeyValueStore on your own machines')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError();
  const dir = fileURLToPath(new URL('./commands/', import.meta.url));
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.js'))
    .sort();
  const register = async (file: string) => {
    const mod = (await import(new URL(`./commands/${file}`, import.meta.url).href)) as Partial<CommandModule>;
    mod.register?.(program);
  };
  // A command named on the line loads only its own module (commands/<name>.js): a fleet role (`openfront edge`) then
  // starts without the dependencies of every other command. Help, a typo, no command, or a module that turns out
  // not to register that command load them all.
  const named = files.find((f) => f === `${argv[2]}.js`);
  if (named !== undefined) await register(named);
  if (named === undefined || !program.commands.some((c) => c.name() === argv[2])) {
    for (const file of files) if (file !== named) await register(file);
  }
  await program.parseAsync(argv);
}

main(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? 0 : 2;
    return;
  }
  if (isOpenFrontError(err)) {
    process.stderr.write(`openfront: ${err.message}\n`);
  } else {
    process.stderr.write(`openfront: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  process.exitCode = 1;
});
