// Placement B: a device emulator in the VMM, a program of the primary VM. The guest's access to the
// device window exits through GH_VCPU_RUN (an MMIO exit) and the VMM's vCPU loop calls the emulator,
// then resumes the vCPU with the value. Queue kicks (virtio QueueNotify) do not exit: an ioeventfd
// with DATAMATCH per queue lets the vCPU go on at once and wakes the VMM's kick loop. The interrupt
// goes out through an irqfd (an eventfd bound to the guest's doorbell). Guest memory is the VMM's own
// mapping of the VM's RAM, checked against the grant of the VM's RAM: reachable when the RAM is shared
// (the placement hook shares it for DMA); lent RAM (the VMM alone) faults every access.
// The VMM's own devices (tools/vmm, no hook) run in this host too.
import { EFD_CLOEXEC, EFD_NONBLOCK, Errno, type ClockImpl, type Process, type TimerHandle } from '../../../core/index';
import type { MmioDevice } from '../../vmm/vmm';
import type { DeviceDescription } from '../../vmm/vm-description';
import { accessInWindow, allOnes, MAX_DEVICE_TIMERS, type AccessSize, type CharSink, type DeviceEmulator, type DeviceEnv, type DeviceFactory, type LogLevel } from '../device';
import { GrantedMemory } from '../guest-memory';

/**
 * What a device host needs of the VMM it runs in (tools/vmm's `Vmm` is one): the VMM's process, its
 * eventfd and ioeventfd calls, and where it maps the VM's RAM. A narrow view, so this file needs
 * nothing of tools/vmm at run time (the VMM imports it).
 */
export interface DeviceHostVmm {
  readonly proc: Process;
  readonly g: {
    writeEventfd(fd: number): Promise<void>;
    readEventfd(fd: number): Promise<bigint>;
    addIoeventfd(vmFd: number, a: { eventFd: number; addr: bigint; len: number; datamatch?: bigint }): Promise<number>;
  };
  readonly desc: { readonly memoryBase: bigint; readonly memorySize: bigint };
  /** The VMM's address of the VM's RAM. */
  readonly guestRam: { addr: bigint; size: bigint };
}

export interface VmmDeviceHostOptions {
  vmm: DeviceHostVmm;
  dev: Pick<DeviceDescription, 'name' | 'base' | 'size' | 'node'>;
  factory: DeviceFactory;
  /** The clock of device timers and virtual time (default: the VMM process's, the primary kernel's). */
  clock?: ClockImpl;
  chardev?: CharSink;
  log?: (level: LogLevel, message: string) => void;
}

export interface VmmDeviceStats {
  reads: number;
  writes: number;
  /** Kicks delivered through an ioeventfd (no exit to the VMM). */
  kicks: number;
  irqfdSignals: number;
  /** Emulation time the VMM's vCPU paid (ns). */
  chargedNs: number;
}

export class VmmDeviceHost implements MmioDevice {
  readonly name: string;
  readonly base: bigint;
  readonly size: bigint;
  readonly dev: DeviceEmulator;
  readonly stats: VmmDeviceStats = { reads: 0, writes: 0, kicks: 0, irqfdSignals: 0, chargedNs: 0 };
  /** The eventfd behind the device's irqfd. */
  readonly irqEventFd: number;
  private readonly proc: Process;
  private readonly timers: (TimerHandle | undefined)[] = new Array<TimerHandle | undefined>(MAX_DEVICE_TIMERS).fill(undefined);
  private level = false;
  private debtNs = 0;
  private paying = false;
  private readonly kickFds: number[] = [];
  private closed = false;
  private readonly clock: ClockImpl;

  constructor(private readonly o: VmmDeviceHostOptions) {
    this.name = o.dev.name;
    this.base = o.dev.base;
    this.size = o.dev.size;
    this.proc = o.vmm.proc;
    const clock = o.clock ?? o.vmm.proc.clock;
    this.clock = clock;
    this.dev = o.factory();
    if (BigInt(this.dev.windowSize) > this.size) throw new RangeError(`${o.dev.node.path}: ${this.dev.name} decodes 0x${this.dev.windowSize.toString(16)} bytes, reg gives 0x${this.size.toString(16)}`);
    this.irqEventFd = this.proc.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    const ram = o.vmm.guestRam;
    const d = o.vmm.desc;
    const env: DeviceEnv = {
      // The VM's RAM, reached through the VMM's mapping of it (VA = ram.addr + (gpa - memoryBase)).
      mem: new GrantedMemory([{ gpa: d.memoryBase, size: d.memorySize, writable: true, backing: ram.addr }], {
        read: (addr, into) => this.copy(addr, into, false),
        write: (addr, from) => this.copy(addr, from, true),
      }),
      setIrq: (level) => this.setIrq(level),
      now: () => clock.now(),
      armTimer: (id, deadlineNs) => {
        this.cancelTimer(id);
        this.timers[id] = clock.addTimer(deadlineNs, () => {
          this.timers[id] = undefined;
          if (!this.closed) this.dev.timer(id);
        });
      },
      cancelTimer: (id) => this.cancelTimer(id),
      charge: (ns) => this.charge(ns),
      log: (level, message) => o.log?.(level, `${this.name}: ${message}`),
      chardev: o.chardev,
    };
    this.dev.init(env);
  }

  private copy(addr: number, buf: Uint8Array, write: boolean): boolean {
    try {
      if (write) this.proc.copyToUser(BigInt(addr), buf);
      else buf.set(this.proc.copyFromUser(BigInt(addr), buf.length));
      return true;
    } catch (e) {
      if (Errno.is(e, 'EFAULT')) return false;
      throw e;
    }
  }

  private cancelTimer(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= MAX_DEVICE_TIMERS) throw new RangeError(`timer id ${id}`);
    const t = this.timers[id];
    if (t) this.clock.cancel(t);
    this.timers[id] = undefined;
  }

  /** Level high rings the doorbell through the irqfd (one signal per rising edge). */
  private setIrq(level: boolean): void {
    if (level === this.level) return;
    this.level = level;
    if (!level || this.closed) return;
    this.stats.irqfdSignals++;
    void this.o.vmm.g.writeEventfd(this.irqEventFd).catch(() => undefined);
  }

  /** Emulation work runs on the VMM's vCPU: pay it as spin time, after the handler returns. */
  private charge(ns: number): void {
    if (!(ns >= 0)) return;
    this.debtNs += ns;
    this.stats.chargedNs += ns;
    if (this.paying) return;
    this.paying = true;
    void (async () => {
      while (this.debtNs > 0 && !this.closed) {
        const n = this.debtNs;
        this.debtNs = 0;
        await this.proc.cpu.spin(n);
      }
      this.paying = false;
    })().catch(() => (this.paying = false));
  }

  read(offset: number, size: number): bigint {
    const s = size as AccessSize;
    this.stats.reads++;
    return accessInWindow(offset, s, this.dev.windowSize) ? this.dev.read(offset, s) : allOnes(s);
  }

  write(offset: number, size: number, value: bigint): void {
    const s = size as AccessSize;
    this.stats.writes++;
    if (accessInWindow(offset, s, this.dev.windowSize)) this.dev.write(offset, s, value);
  }

  /** GH_FN_IOEVENTFD for each kick of the device, and a loop per eventfd delivering them. */
  async attachKicks(vmFd: number): Promise<void> {
    for (const k of this.dev.kicks ?? []) {
      const fd = this.proc.eventfd(0, EFD_CLOEXEC);
      this.kickFds.push(fd);
      await this.o.vmm.g.addIoeventfd(vmFd, { eventFd: fd, addr: this.base + BigInt(k.offset), len: k.size, datamatch: k.value });
      void this.kickLoop(fd, k.offset, k.size, k.value);
    }
  }

  private async kickLoop(fd: number, offset: number, size: AccessSize, value: bigint): Promise<void> {
    for (;;) {
      try {
        await this.o.vmm.g.readEventfd(fd);
      } catch {
        return; // interrupted (the VMM stopped) or closed
      }
      if (this.closed) return;
      this.stats.kicks++;
      this.dev.write(offset, size, value);
    }
  }

  /** Host bytes for the device's character backend. */
  input(bytes: Uint8Array): number {
    return this.dev.input?.(bytes) ?? 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (let i = 0; i < MAX_DEVICE_TIMERS; i++) this.cancelTimer(i);
    for (const fd of this.kickFds.splice(0)) await this.proc.close(fd).catch(() => undefined);
  }
}
