// `gunyah run [board.dts|board.dtb]` (registered in ../run.ts): boot the platform a board describes and stream every VM's
// console, prefixed with its name (the default board when none is given). Options: --attach <vm>,
// --trace <out.json>, --stats, --dump-dt <vm>. Exit status: 0 when every VM exited cleanly, 1 when
// one failed or teardown found a broken invariant, 130 after Ctrl-C (VMs stopped, memory reclaimed).
import type { LogRecord } from '../../../core';
import { parseFdt, toDts } from '../../../dt';
import type { TraceEvent } from '../../../firmware/hypervisor';
import { EXIT_TYPE_NAMES } from '../../vmm/vmm';
import { CliError } from '../errors';
import { ConsoleAttach } from './attach';
import { loadBoard } from './board-file';
import { ChromeTraceWriter } from './chrome-trace';
import { ConsoleMux } from './console-mux';
import { RunSession, type SessionResult } from './session';
import { HypercallCounter, statsTable } from './stats';

export interface RunCliOptions {
  attach?: string;
  trace?: string;
  stats?: boolean;
  dumpDt?: string;
  loglevel?: string;
  color?: boolean;
}

/** Exit status after Ctrl-C, as a shell reports a SIGINT death (128 + 2). */
export const STATUS_INTERRUPTED = 130;
const PRIMARY = 'primary';
/** Linux's CONSOLE_LOGLEVEL_DEFAULT: everything but debug messages reaches the console. */
const DEFAULT_LOGLEVEL = 7;

function useColor(opt: boolean | undefined): boolean {
  if (opt === false || process.env['NO_COLOR']) return false;
  if (process.env['FORCE_COLOR'] && process.env['FORCE_COLOR'] !== '0') return true;
  return opt === true ? Boolean(process.stdout.isTTY) : false;
}

function parseLoglevel(s: string | undefined): number {
  if (s === undefined) return DEFAULT_LOGLEVEL;
  const n = Number(s);
  if (!Number.isInteger(n) || n < 0 || n > 8) throw new CliError(`--loglevel ${s}: a console loglevel is 0..8 (records below it are printed)`);
  return n;
}

/** The VM manager says `exit type N`; people read the RM's name for it. */
function exitDetail(detail: string): string {
  const m = /^exit type (\d+)$/.exec(detail);
  const name = m ? EXIT_TYPE_NAMES[Number(m[1])] : undefined;
  return name ?? detail;
}

function vmFailures(result: SessionResult): string[] {
  const out: string[] = [];
  for (const v of result.vms) {
    const e = v.exit;
    if (e.kind === 'error') out.push(`VM ${v.name}: ${e.error.message.split('\n')[0]}`);
    else if (e.kind === 'status' && e.statusName !== 'exited') out.push(`VM ${v.name}: ${e.statusName} (${e.exitTypeName})`);
  }
  return out;
}

export async function runCommand(file: string | undefined, opts: RunCliOptions): Promise<number> {
  const loglevel = parseLoglevel(opts.loglevel);
  const board = await loadBoard(file);
  const names = board.vms.map((v) => v.desc.name);
  for (const [flag, vm] of [
    ['--attach', opts.attach],
    ['--dump-dt', opts.dumpDt],
  ] as const) {
    if (vm !== undefined && !names.includes(vm)) throw new CliError(`${flag} ${vm}: the board has no VM of that name (it has: ${names.join(', ') || 'none'})`);
  }
  const { board: b } = board;
  const ram = b.ram.reduce((n, r) => n + r.size, 0n);
  process.stderr.write(`gunyah: ${board.file}: ${b.model}, ${b.cpus.length} CPUs, ${Number(ram >> 20n)} MiB RAM, ${names.length} VMs (${names.join(', ')})\n`);
  const stdout = (s: string) => void process.stdout.write(s);
  const mux = new ConsoleMux(stdout, { color: useColor(opts.color), names: [PRIMARY, ...names] });
  const tracer = opts.trace ? new ChromeTraceWriter(opts.trace) : undefined;
  const hypercalls = opts.stats ? new HypercallCounter() : undefined;
  const traceHook = tracer || hypercalls ? (e: TraceEvent) => (tracer?.add(e), hypercalls?.add(e)) : undefined;
  let attach: ConsoleAttach | undefined;

  const session: RunSession = new RunSession(board, {
    console: (vm, bytes) => {
      if (attach?.active && attach.vm === vm) {
        mux.bytes.set(vm, (mux.bytes.get(vm) ?? 0) + bytes.length);
        process.stdout.write(bytes);
      } else if (!attach?.active) mux.write(vm, bytes);
    },
    consoleEnd: (vm) => {
      if (attach?.active && attach.vm === vm) attach.detach();
      mux.end(vm);
    },
    primaryLog: (r: LogRecord) => {
      if (r.level < loglevel && !attach?.active) mux.line(PRIMARY, r.text);
    },
    vmEvent: (vm, e, t) => {
      tracer?.vmState(e.vmid, e.kind, t, e.detail);
      if (e.kind === 'created') tracer?.nameVm(e.vmid, vm);
      if (attach?.active) return;
      if (e.kind === 'running') mux.line(vm, `-- running (VMID ${e.vmid})`);
      else if (e.kind === 'exited' || e.kind === 'start-failed') mux.line(vm, `-- ${e.kind}${e.detail ? `: ${exitDetail(e.detail)}` : ''}`);
    },
    ...(traceHook ? { trace: traceHook } : {}),
    ...(opts.dumpDt ? { captureDt: [opts.dumpDt] } : {}),
    started: (s) => {
      if (!opts.attach) return;
      const vm = opts.attach;
      attach = new ConsoleAttach(vm, process.stdin, (b) => s.writeConsole(vm, b), () => process.stderr.write(`\ngunyah: detached from ${vm}\n`));
      process.stderr.write(`gunyah: attached to ${vm} (Ctrl-] to detach)\n`);
      attach.start();
    },
  });

  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts > 1) {
      attach?.detach();
      process.stderr.write('gunyah: quitting without cleanup\n');
      process.exit(STATUS_INTERRUPTED);
    }
    process.stderr.write('\ngunyah: stopping the VMs (Ctrl-C again to quit at once)\n');
    session.requestStop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // A machine waiting for input (VMs idle until Ctrl-C or console input) holds no Node handle:
  // this timer keeps the process alive until the run ends.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  let result: SessionResult;
  try {
    result = await session.run();
  } finally {
    clearInterval(keepAlive);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    attach?.detach();
    tracer?.close();
  }

  if (opts.dumpDt) {
    const vm = result.vms.find((v) => v.name === opts.dumpDt);
    if (!vm?.dtb) throw new CliError(`--dump-dt ${opts.dumpDt}: the VM did not start, so it has no booted tree`);
    process.stdout.write(toDts(parseFdt(vm.dtb, { copy: true })));
  }
  if (hypercalls) process.stderr.write(statsTable(result, hypercalls, mux.bytes));
  if (tracer) process.stderr.write(`gunyah: wrote ${tracer.count} trace events to ${opts.trace}\n`);
  const problems = [...result.invariants.map((i) => `invariant: ${i}`)];
  if (result.pagesNotReclaimed !== 0) problems.push(`the primary VM's page allocator is ${result.pagesNotReclaimed} pages short after teardown`);
  for (const p of problems) process.stderr.write(`gunyah: ${p}\n`);
  if (problems.length === 0) process.stderr.write(`gunyah: ${result.stopped ? 'stopped; ' : ''}${result.vms.length} VMs torn down, memory reclaimed, invariants hold (virtual time ${(result.virtualNs / 1e6).toFixed(3)} ms)\n`);
  if (result.stopped) return STATUS_INTERRUPTED;
  const failures = vmFailures(result);
  for (const f of failures) process.stderr.write(`gunyah: ${f}\n`);
  return failures.length > 0 || problems.length > 0 ? 1 : 0;
}
