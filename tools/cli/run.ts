// Registers `gunyah run`. The command's code (the whole stack: kernel, drivers, VMM) is imported when
// the command runs, so the other commands start fast and never load decorator-using modules.
import type { Command } from 'commander';
import type { RunCliOptions } from './run/run-command';

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('boot the platform a board describes and stream every VM console (the default board when none is given)')
    .argument('[board]', 'board description: a .dts or .dtb with compatible "gunyah-ts,board"')
    .option('--attach <vm>', "bind the terminal to a VM's console (raw mode; Ctrl-] detaches)")
    .option('--trace <out.json>', 'write the hypervisor trace as Chrome trace-event JSON (Perfetto, chrome://tracing)')
    .option('--stats', 'print per-VM counters at exit (hypercalls, exits, console bytes, memory)')
    .option('--dump-dt <vm>', 'print, as DTS, the tree a VM booted with (after the RM overlay)')
    .option('--loglevel <n>', "the primary VM's console loglevel: its kernel messages below n are shown (default 7: all but debug)")
    .option('--color', 'colour the VM name prefixes (default: when stdout is a terminal)')
    .option('--no-color', 'no colours')
    .action(async (file: string | undefined, opts: RunCliOptions) => {
      const { runCommand } = await import('./run/run-command');
      process.exitCode = await runCommand(file, opts);
    });
}
