#!/usr/bin/env node
// The gunyah CLI: device-tree tools, images, and the main job (boot a platform, stream consoles).
import { Command, CommanderError } from 'commander';
import { registerDt } from './cli/dt';
import { registerImage } from './cli/image';
import { registerRun } from './cli/run';
import { reportError, setDebug } from './cli/errors';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('gunyah')
    .description('gunyah-ts: an emulated Gunyah hypervisor stack')
    .option('--debug', 'print stack traces for errors')
    .showHelpAfterError()
    .exitOverride()
    .hook('preAction', (cmd) => setDebug(Boolean(cmd.optsWithGlobals()['debug'])));
  registerDt(program);
  registerImage(program);
  registerRun(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    return reportError(err);
  }
}

const invokedDirectly = (() => {
  const arg = process.argv[1] ?? '';
  return /gunyah(\.ts|\.js)?$/.test(arg);
})();

if (invokedDirectly) {
  main(process.argv.slice(2)).then((status) => {
    process.exitCode = status;
  });
}
