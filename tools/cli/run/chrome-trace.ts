// The hypervisor's trace stream as Chrome trace-event JSON (the "JSON Object Format" of the Trace Event
// Format document, which Perfetto and chrome://tracing open): one process "physical CPUs" with a
// thread per pCPU carrying the vCPU run slices ("X" events, from the `run` events), and one process
// per VM with a thread per vCPU carrying hypercalls, interrupts, MMIO, power changes and vcpu_run
// exits (instant events), plus VM state changes as process-scoped instants. Events are written to
// the file as they come (memory stays bounded on long runs); names go in metadata at the end.
import { closeSync, openSync, writeSync } from 'node:fs';
import { ROOT_VM_VMID, type TraceEvent } from '../../../firmware/hypervisor';

/** The primary VM's VMID (HLOS; spec: VMIDs 3.. for guests, the primary first). */
const PRIMARY_VMID = 3;
const PCPU_PID = 1;
/** VM processes: pid = base + VMID, clear of the pCPU process. */
const VM_PID_BASE = 1000;
const FLUSH_BYTES = 1 << 16;

interface OpenSlice {
  vmid: number;
  vcpu: number;
  start: number;
}

/** Trace timestamps are microseconds (floats allowed); ours are virtual ns. */
const us = (ns: number): number => ns / 1000;

export class ChromeTraceWriter {
  private fd: number;
  private buf: string[] = [];
  private bufBytes = 0;
  private first = true;
  private readonly open = new Map<number, OpenSlice>();
  private readonly vmNames = new Map<number, string>([
    [PRIMARY_VMID, 'primary'],
    [ROOT_VM_VMID, 'rm'],
  ]);
  private readonly vcpusSeen = new Set<string>();
  private readonly cpusSeen = new Set<number>();
  private lastT = 0;
  /** Events written (metadata excluded). */
  count = 0;
  /** Run slices written per "vmid:vcpu". */
  readonly slices = new Map<string, number>();

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
    this.put('{"displayTimeUnit":"ns","traceEvents":[\n');
  }

  nameVm(vmid: number, name: string): void {
    this.vmNames.set(vmid, name);
  }

  private put(s: string): void {
    this.buf.push(s);
    this.bufBytes += s.length;
    if (this.bufBytes >= FLUSH_BYTES) this.flush();
  }

  private flush(): void {
    if (this.buf.length === 0) return;
    writeSync(this.fd, this.buf.join(''));
    this.buf = [];
    this.bufBytes = 0;
  }

  private event(e: Record<string, unknown>): void {
    this.put(`${this.first ? '' : ',\n'}${JSON.stringify(e)}`);
    this.first = false;
    this.count++;
  }

  private instant(t: number, vmid: number, vcpu: number, cat: string, name: string, args?: Record<string, unknown>): void {
    if (vcpu >= 0) this.vcpusSeen.add(`${vmid}:${vcpu}`);
    this.event({ name, cat, ph: 'i', s: vcpu >= 0 ? 't' : 'p', ts: us(t), pid: VM_PID_BASE + vmid, tid: vcpu >= 0 ? vcpu : 0, ...(args ? { args } : {}) });
  }

  private closeSlice(cpu: number, t: number): void {
    const o = this.open.get(cpu);
    if (!o) return;
    this.open.delete(cpu);
    const key = `${o.vmid}:${o.vcpu}`;
    this.slices.set(key, (this.slices.get(key) ?? 0) + 1);
    this.vcpusSeen.add(key);
    this.event({ name: `${this.vmName(o.vmid)} vcpu${o.vcpu}`, cat: 'run', ph: 'X', ts: us(o.start), dur: us(Math.max(0, t - o.start)), pid: PCPU_PID, tid: cpu, args: { vmid: o.vmid, vcpu: o.vcpu } });
  }

  private vmName(vmid: number): string {
    return this.vmNames.get(vmid) ?? `vm${vmid}`;
  }

  /** A VM lifecycle change seen by the primary's VM manager (created, running, exited, freed...). */
  vmState(vmid: number, state: string, t: number, detail?: string): void {
    this.instant(t, vmid, -1, 'vm', `VM ${state}`, detail === undefined ? undefined : { detail });
  }

  add(e: TraceEvent): void {
    if (e.t > this.lastT) this.lastT = e.t;
    switch (e.kind) {
      case 'run':
        this.cpusSeen.add(e.cpu);
        this.closeSlice(e.cpu, e.t);
        if (e.vcpu >= 0) this.open.set(e.cpu, { vmid: e.vmid, vcpu: e.vcpu, start: e.t });
        return;
      case 'hvc':
        return this.instant(e.t, e.vmid, e.vcpu, 'hvc', e.name, { result: e.error });
      case 'smccc':
        return this.instant(e.t, e.vmid, e.vcpu, 'hvc', `smccc 0x${e.fn.toString(16)}`);
      case 'irq':
        return this.instant(e.t, e.vmid, e.vcpu, 'irq', `irq ${e.intid} ${e.action}`);
      case 'mmio':
        return this.instant(e.t, e.vmid, e.vcpu, 'mmio', `mmio ${e.write ? 'write' : 'read'} 0x${e.ipa.toString(16)}`, { size: e.size, value: `0x${e.value.toString(16)}`, route: e.route });
      case 'power':
        return this.instant(e.t, e.vmid, e.vcpu, 'power', `vcpu ${e.what}`, e.detail === undefined ? undefined : { detail: e.detail });
      case 'run-exit':
        return this.instant(e.t, e.vmid, e.vcpu, 'run', `vcpu_run exit (vcpu${e.target})`, { state: e.state });
      case 'object':
        return this.event({ name: `${e.type} ${e.state}`, cat: 'object', ph: 'i', s: 'g', ts: us(e.t), pid: PCPU_PID, tid: 0, args: { object: e.object, error: e.error } });
      case 'system':
        return this.event({ name: e.what, cat: 'system', ph: 'i', s: 'g', ts: us(e.t), pid: PCPU_PID, tid: 0 });
      case 'sched':
        return; // the `run` events carry the same and more
    }
  }

  /** Close open slices at `endNs`, write the names, and close the file. */
  close(endNs: number = this.lastT): void {
    for (const cpu of [...this.open.keys()]) this.closeSlice(cpu, Math.max(endNs, this.open.get(cpu)!.start));
    const meta = (e: Record<string, unknown>): void => {
      this.put(`${this.first ? '' : ',\n'}${JSON.stringify({ ph: 'M', ts: 0, ...e })}`);
      this.first = false;
    };
    meta({ name: 'process_name', pid: PCPU_PID, tid: 0, args: { name: 'physical CPUs' } });
    meta({ name: 'process_sort_index', pid: PCPU_PID, tid: 0, args: { sort_index: 0 } });
    for (const cpu of [...this.cpusSeen].sort((a, b) => a - b)) meta({ name: 'thread_name', pid: PCPU_PID, tid: cpu, args: { name: `pCPU ${cpu}` } });
    const vms = new Set<number>();
    for (const key of this.vcpusSeen) {
      const [vmid, vcpu] = key.split(':').map(Number) as [number, number];
      vms.add(vmid);
      meta({ name: 'thread_name', pid: VM_PID_BASE + vmid, tid: vcpu, args: { name: `vcpu${vcpu}` } });
    }
    for (const vmid of new Set([...vms, ...this.vmNames.keys()])) meta({ name: 'process_name', pid: VM_PID_BASE + vmid, tid: 0, args: { name: `VM ${vmid} (${this.vmName(vmid)})` } });
    this.put('\n]}\n');
    this.flush();
    closeSync(this.fd);
    this.fd = -1;
  }
}
