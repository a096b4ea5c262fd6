// `gunyah run --stats`: per-VM counters gathered during the run and the table printed at exit.
import type { TraceEvent } from '../../../firmware/hypervisor';
import type { SessionResult } from './session';

/** Counts hypercalls per VMID from the trace stream. */
export class HypercallCounter {
  readonly byVmid = new Map<number, number>();

  add(e: TraceEvent): void {
    if (e.kind === 'hvc' || e.kind === 'smccc') this.byVmid.set(e.vmid, (this.byVmid.get(e.vmid) ?? 0) + 1);
  }
}

function mib(bytes: bigint): string {
  const m = Number(bytes) / (1 << 20);
  return `${Number.isInteger(m) ? m : m.toFixed(2)} MiB`;
}

function exitText(r: SessionResult['vms'][number]): string {
  const e = r.exit;
  if (e.kind === 'status') return `${e.statusName} (${e.exitTypeName})`;
  if (e.kind === 'stopped') return 'stopped';
  return `error: ${e.error.message.split('\n')[0]}`;
}

/** The table, one row per VM, as aligned text. */
export function statsTable(result: SessionResult, hypercalls: HypercallCounter, consoleBytes: ReadonlyMap<string, number>): string {
  const header = ['VM', 'VMID', 'hypercalls', 'exits', 'mmio exits', 'console bytes', 'memory', 'end'];
  const rows = result.vms.map((v) => [v.name, String(v.vmid), String(hypercalls.byVmid.get(v.vmid) ?? 0), String(v.runs), String(v.mmioExits), String(consoleBytes.get(v.name) ?? 0), mib(v.memory), exitText(v)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const numeric = new Set([1, 2, 3, 4, 5, 6]);
  const fmt = (r: string[]) =>
    r
      .map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const lines = [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...rows.map(fmt)];
  const primary = hypercalls.byVmid.get(3);
  if (primary !== undefined) lines.push(`primary VM: ${primary} hypercalls; virtual time ${(result.virtualNs / 1e6).toFixed(3)} ms`);
  return `${lines.join('\n')}\n`;
}
