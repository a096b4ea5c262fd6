// `gunyah dt ...`: device-tree commands. Each subcommand lives in its own file under tools/cli/dt/.
import { Command } from 'commander';
import { registerCheck } from './dt/check';
import { registerCompile } from './dt/compile';

type Register = (dt: Command) => void;

/** Subcommand registrations; each command file appends itself here. */
const subcommands: Register[] = [registerCheck, registerCompile];

export function registerDt(program: Command): void {
  const dt = program.command('dt').description('device-tree tools: decompile, compile, overlay, get, json, check');
  for (const register of subcommands) register(dt);
}
