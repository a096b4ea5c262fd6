// `gunyah dt ...`: device-tree commands. Each subcommand lives in its own file under tools/cli/dt/.
import { Command } from 'commander';
import { registerCheck } from './dt/check';
import { registerCompile } from './dt/compile';
import { registerDecompile } from './dt/decompile';
import { registerGet } from './dt/get';
import { registerJson } from './dt/json';
import { registerOverlay } from './dt/overlay';

type Register = (dt: Command) => void;

/** Subcommand registrations; each command file appends itself here. */
const subcommands: Register[] = [registerCompile, registerDecompile, registerOverlay, registerGet, registerJson, registerCheck];

export function registerDt(program: Command): void {
  const dt = program.command('dt').description('device-tree tools: decompile, compile, overlay, get, json, check');
  for (const register of subcommands) register(dt);
}
