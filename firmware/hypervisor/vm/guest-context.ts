// The GuestCpu a vCPU's code holds for one power-on: registers, hypercall conduits, memory through
// stage 2, MMIO (RAM, vGIC and device handlers in the hypervisor, VMMIO exits to the VMM), WFI,
// spin, the virtual timer and the GICv3 CPU interface.
import type { AccessSize, GuestCpu, IrqVector } from '../guest-cpu';
import { GuestAbort } from '../guest-cpu';
import { Access, PAGE_SIZE } from '../abi/memory';
import { HVC_NS, MAX_ACKS_PER_IRQ_ENTRY, MMIO_TRAP_NS, VMMIO_EXIT_NS, WFI_NS } from '../costs';
import type { Hypervisor } from '../hypervisor';
import { GIC_SPURIOUS } from '../irq/irq-state';
import { NEVER, RESOLVED, type Scheduler } from '../sched/scheduler';
import type { VdeviceAccess } from '../mem/addrspace';
import { VState, type Vcpu } from './vcpu';

const PAGE_MASK = PAGE_SIZE - 1;
const MMIO_DONE = 0;
const MMIO_ABORT = 1;
const MMIO_BLOCKED = 2;

export class GuestContext implements GuestCpu {
  readonly x: BigUint64Array;
  /** The same registers as 32-bit halves: the hypercall dispatcher reads these, never bigints. */
  readonly x32: Uint32Array;
  vector: IrqVector | undefined;
  /** Set when the vCPU powers off, faults or is killed: this context never runs again. */
  dead = false;
  // A one-entry TLB over the stage-2 table for the synchronous accessors.
  private tlbGen = -1;
  private tlbStart = 0;
  private tlbEnd = 0;
  private tlbPa = 0;
  private tlbAccess = 0;
  private readonly sched: Scheduler;

  constructor(
    private readonly hv: Hypervisor,
    readonly vcpu: Vcpu,
    regs: BigUint64Array,
  ) {
    this.x = regs;
    this.x32 = new Uint32Array(regs.buffer, regs.byteOffset, regs.length * 2);
    this.sched = hv.sched;
  }

  get index(): number {
    return this.vcpu.index;
  }
  get mpidr(): bigint {
    return this.vcpu.mpidr;
  }
  get counterFrequency(): number {
    return this.hv.machine.counterFrequency;
  }

  /** Run `op` now if the vCPU is executing, else queue it for its next dispatch. */
  private live(): boolean {
    return !this.dead && this.vcpu.ctx === this;
  }

  // ---- hypercall conduits ----

  hvc(imm = 0): Promise<void> {
    return this.trap(imm, false);
  }

  smc(imm = 0): Promise<void> {
    return this.trap(imm, true);
  }

  private trap(imm: number, smc: boolean): Promise<void> {
    if (!this.live()) return NEVER;
    const v = this.vcpu;
    if (!v.executing) {
      return new Promise<void>((res) =>
        this.sched.queueWork(
          v,
          (r) => {
            if (this.doTrap(imm, smc)) return true;
            // Blocked: the result arrives when the vCPU next runs.
            if (v.ctx === this) v.conts.unshift({ op: null, resolve: r as () => void });
            return false;
          },
          res as never,
        ),
      );
    }
    if (!this.doTrap(imm, smc)) return this.sched.pendingResult(v);
    return this.sched.preemptionPoint(v);
  }

  /** Perform the trap; false when the call blocked the vCPU (its result arrives later). */
  private doTrap(imm: number, smc: boolean): boolean {
    const v = this.vcpu;
    const hv = this.hv;
    hv.cur = v;
    try {
      v.pcpu!.localTime += HVC_NS;
      return hv.dispatcher.trap(v, this.x32, imm >>> 0, smc);
    } finally {
      hv.cur = null;
    }
  }

  // ---- memory through stage 2 (synchronous, RAM only) ----

  /** Physical address for a RAM access of `size` bytes at `ipa`, or a GuestAbort. */
  private pa(ipa: bigint, size: number, write: boolean): number {
    if (!this.live()) throw new GuestAbort(ipa, write, 'translation');
    const a = Number(ipa);
    const as = this.vcpu.addrspace!;
    const s2 = as.s2;
    if (this.tlbGen === s2.generation && a >= this.tlbStart && a + size <= this.tlbEnd) {
      if ((this.tlbAccess & (write ? Access.W : Access.R)) === 0) throw new GuestAbort(ipa, write, 'permission');
      return this.tlbPa + (a - this.tlbStart);
    }
    if (ipa < 0n || a >= as.ipaLimit) throw new GuestAbort(ipa, write, 'translation');
    const i = s2.indexOf(a);
    if (i < 0) throw new GuestAbort(ipa, write, as.vdevices.indexOf(a) >= 0 || as.vmmio.indexOf(a) >= 0 ? 'mmio' : 'translation');
    const e = s2.valueAt(i);
    const start = s2.startAt(i);
    const end = s2.endAt(i);
    if (a + size > end) {
      // Crosses into the next range: check it page by page below.
      return this.paSlow(ipa, size, write);
    }
    if ((e.k & (write ? Access.W : Access.R)) === 0) throw new GuestAbort(ipa, write, 'permission');
    const pa = e.pa + (a - start);
    if (!this.hv.machine.mem.isRam(e.pa, end - start)) throw new GuestAbort(ipa, write, 'mmio');
    this.tlbGen = s2.generation;
    this.tlbStart = start;
    this.tlbEnd = end;
    this.tlbPa = e.pa;
    this.tlbAccess = e.k;
    return pa;
  }

  /** A multi-range access: every byte must translate; returns -1 (the caller copies piecewise). */
  private paSlow(ipa: bigint, size: number, write: boolean): number {
    for (let off = 0; off < size; ) {
      const a = ipa + BigInt(off);
      const n = Math.min(size - off, PAGE_SIZE - (Number(a) & PAGE_MASK));
      this.pa(a, n, write);
      off += n;
    }
    return -1;
  }

  read(ipa: bigint, into: Uint8Array): void {
    this.copy(ipa, into, false);
  }

  write(ipa: bigint, from: Uint8Array): void {
    this.copy(ipa, from, true);
  }

  private copy(ipa: bigint, buf: Uint8Array, write: boolean): void {
    const mem = this.hv.machine.mem;
    let off = 0;
    while (off < buf.length) {
      const a = ipa + BigInt(off);
      const n = Math.min(buf.length - off, PAGE_SIZE - (Number(a) & PAGE_MASK));
      const pa = this.pa(a, n, write);
      if (write) mem.write(pa, buf, off, n);
      else mem.read(pa, buf, off, n);
      off += n;
    }
  }

  private load(ipa: bigint, size: 1 | 2 | 4): number {
    const pa = this.pa(ipa, size, false);
    if (pa >= 0) return this.hv.machine.mem.load(pa, size);
    const b = new Uint8Array(size);
    this.copy(ipa, b, false);
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + b[i]!;
    return v;
  }

  private store(ipa: bigint, size: 1 | 2 | 4, value: number): void {
    const pa = this.pa(ipa, size, true);
    if (pa >= 0) return this.hv.machine.mem.store(pa, size, value);
    const b = new Uint8Array(size);
    for (let i = 0; i < size; i++) b[i] = (value >>> (8 * i)) & 0xff;
    this.copy(ipa, b, true);
  }

  read8(ipa: bigint): number {
    return this.load(ipa, 1);
  }
  read16(ipa: bigint): number {
    return this.load(ipa, 2);
  }
  read32(ipa: bigint): number {
    return this.load(ipa, 4);
  }
  read64(ipa: bigint): bigint {
    return BigInt(this.load(ipa, 4)) | (BigInt(this.load(ipa + 4n, 4)) << 32n);
  }
  write8(ipa: bigint, value: number): void {
    this.store(ipa, 1, value & 0xff);
  }
  write16(ipa: bigint, value: number): void {
    this.store(ipa, 2, value & 0xffff);
  }
  write32(ipa: bigint, value: number): void {
    this.store(ipa, 4, value >>> 0);
  }
  write64(ipa: bigint, value: bigint): void {
    this.store(ipa, 4, Number(value & 0xffff_ffffn));
    this.store(ipa + 4n, 4, Number((BigInt.asUintN(64, value) >> 32n) & 0xffff_ffffn));
  }

  // ---- MMIO (preemption points) ----

  mmioRead(ipa: bigint, size: AccessSize): Promise<bigint> {
    return this.mmio(ipa, size, false, 0n) as Promise<bigint>;
  }

  mmioWrite(ipa: bigint, size: AccessSize, value: bigint): Promise<void> {
    return this.mmio(ipa, size, true, value) as Promise<void>;
  }

  private mmio(ipa: bigint, size: AccessSize, write: boolean, value: bigint): Promise<bigint | void> {
    if (!this.live()) return NEVER;
    if (size !== 1 && size !== 2 && size !== 4 && size !== 8) return Promise.reject(new GuestAbort(ipa, write, 'size'));
    if (ipa % BigInt(size) !== 0n) return Promise.reject(new GuestAbort(ipa, write, 'alignment'));
    const v = this.vcpu;
    if (!v.executing) {
      return new Promise<bigint | void>((res, rej) => {
        this.sched.queueWork(
          v,
          (r) => {
            const st = this.doMmio(ipa, size, write, value);
            if (st === MMIO_DONE) res(write ? undefined : this.mmioValue);
            else if (st === MMIO_ABORT) rej(this.mmioAbort);
            else this.mmioBlocked!.then((x) => res(write ? undefined : x));
            void r;
            return st !== MMIO_BLOCKED;
          },
          res as never,
        );
      });
    }
    const st = this.doMmio(ipa, size, write, value);
    if (st === MMIO_ABORT) return Promise.reject(this.mmioAbort);
    if (st === MMIO_BLOCKED) return this.mmioBlocked!;
    const pp = this.sched.preemptionPoint(v);
    if (write) return pp;
    const result = this.mmioValue;
    return pp === RESOLVED ? Promise.resolve(result) : pp.then(() => result);
  }

  /** A deferred device access the vCPU is blocked on. */
  private pendingDevice: { done: boolean; value: bigint } | undefined;

  /** A deferred device access completed: resume the vCPU with its value (event context). */
  private completeDeferred(v: Vcpu, d: { done: boolean; value: bigint }, size: number, value: bigint): void {
    if (this.pendingDevice !== d) {
      // Answered before the trap returned: the access completes in place.
      if (!d.done) {
        d.done = true;
        d.value = value;
      }
      return;
    }
    this.pendingDevice = undefined;
    if (!this.live() || v.vstate !== VState.BLOCKED || v.blockReason !== 'vdevice') return;
    v.vmmioResult = BigInt.asUintN(size * 8, value);
    this.sched.makeReady(v);
  }

  /** Result of doMmio: the value read, the abort, or the pending exit. */
  private mmioValue = 0n;
  private mmioAbort: GuestAbort | undefined;
  private mmioBlocked: Promise<bigint> | undefined;

  /** Perform an MMIO access: RAM directly, a vdevice in the hypervisor, or a VMMIO exit through vcpu_run. */
  private doMmio(ipa: bigint, size: AccessSize, write: boolean, value: bigint): number {
    const v = this.vcpu;
    const hv = this.hv;
    const as = v.addrspace!;
    const a = Number(ipa);
    hv.cur = v;
    try {
      const i = as.s2.indexOf(a);
      if (i >= 0 && this.hv.machine.mem.isRam(as.s2.valueAt(i).pa, 1)) {
        // Ordinary memory: a plain load or store.
        try {
          if (write) {
            if (size === 8) this.write64(ipa, value);
            else this.store(ipa, size, Number(BigInt.asUintN(size * 8, value)));
          } else this.mmioValue = size === 8 ? this.read64(ipa) : BigInt(this.load(ipa, size));
          return MMIO_DONE;
        } catch (e) {
          this.mmioAbort = e as GuestAbort;
          return MMIO_ABORT;
        }
      }
      const dev = hv.findVdevice(as, a);
      if (dev) {
        v.pcpu!.localTime += MMIO_TRAP_NS;
        let deferred: { done: boolean; value: bigint } | undefined;
        const access: VdeviceAccess = {
          vcpuIndex: v.index,
          vcpu: v,
          charge: (ns: number) => (v.pcpu!.localTime += ns > 0 ? ns : 0),
          defer: () => (dev.dev.kind === 'handler' ? (deferred ??= { done: false, value: 0n }, (value: bigint) => this.completeDeferred(v, deferred!, size, value)) : () => undefined),
        };
        try {
          if (write) {
            dev.dev.write(access, a - dev.base, size, BigInt.asUintN(size * 8, value));
            hv.trace.mmio(v, a, size, write, value, 'vdevice');
          } else {
            this.mmioValue = BigInt.asUintN(size * 8, dev.dev.read(access, a - dev.base, size));
            hv.trace.mmio(v, a, size, write, this.mmioValue, 'vdevice');
          }
        } catch (e) {
          // A failing device model is the device's fault: the access reads as zero.
          hv.trace.mmio(v, a, size, write, 0n, `handler error: ${(e as Error).message}`);
          this.mmioValue = 0n;
          if (deferred) deferred.done = true;
        }
        if (deferred && !deferred.done) {
          // The device answers later (a stub VM): block like a VMMIO exit, resume on completion.
          this.sched.block(v, 'vdevice');
          this.mmioBlocked = new Promise<bigint>((r) => v.conts.unshift({ op: null, resolve: r as () => void, vmmio: true }));
          deferred.done = true;
          this.pendingDevice = deferred;
          return MMIO_BLOCKED;
        }
        if (deferred) this.mmioValue = BigInt.asUintN(size * 8, deferred.value);
        return MMIO_DONE;
      }
      if (v.proxy && as.vmmio.indexOf(a) >= 0 && as.vmmio.indexOf(a + size - 1) >= 0) {
        // A VMMIO exit: vcpu_run returns to the VMM, which emulates and resumes us.
        v.pcpu!.localTime += VMMIO_EXIT_NS;
        v.vmmio = { ipa: a, size, write, value: write ? BigInt.asUintN(size * 8, value) : 0n };
        hv.trace.mmio(v, a, size, write, value, 'vmmio-exit');
        this.sched.block(v, 'vmmio');
        this.mmioBlocked = new Promise<bigint>((r) => v.conts.unshift({ op: null, resolve: r as () => void, vmmio: true }));
        return MMIO_BLOCKED;
      }
      hv.trace.mmio(v, a, size, write, value, 'abort');
      this.mmioAbort = new GuestAbort(ipa, write, i >= 0 ? 'mmio' : 'translation');
      return MMIO_ABORT;
    } finally {
      hv.cur = null;
    }
  }

  // ---- time and waiting ----

  wfi(): Promise<void> {
    if (!this.live()) return NEVER;
    const v = this.vcpu;
    if (!v.executing) return new Promise<void>((res) => this.sched.queueWork(v, (r) => this.doWfi(r as () => void), res as never));
    let resolved = false;
    let pending: Promise<void> | undefined;
    const done = this.doWfi(() => {
      resolved = true;
    }, (p) => {
      pending = p;
    });
    if (done && resolved) return this.sched.preemptionPoint(v);
    return pending ?? NEVER;
  }

  /** WFI: returns at once if an interrupt is pending (taking it when unmasked), else sleeps. */
  private doWfi(res: () => void, onBlocked?: (p: Promise<void>) => void): boolean {
    const v = this.vcpu;
    v.pcpu!.localTime += WFI_NS;
    if (v.gic.line) {
      if (v.gic.irqReady) this.sched.takeIrq(v);
      res();
      return true;
    }
    const p = new Promise<void>((r) => v.wfiWaiters.push(r));
    this.sched.block(v, 'wfi');
    if (onBlocked) onBlocked(p);
    else p.then(res);
    return false;
  }

  async spin(ns: number): Promise<void> {
    if (!(ns >= 0) || !Number.isFinite(ns)) throw new RangeError(`spin(${ns}): ns must be a finite non-negative number`);
    let left = ns;
    while (left > 0) {
      if (!this.live()) return NEVER;
      const v = this.vcpu;
      if (!v.executing) {
        await new Promise<void>((res) => this.sched.queueWork(v, null, res as never));
        continue;
      }
      const p = v.pcpu!;
      const room = Math.max(0, p.quantumEnd - p.localTime);
      const n = Math.min(left, room);
      p.localTime += n;
      left -= n;
      await this.sched.preemptionPoint(v);
    }
  }

  counter(): bigint {
    return this.vcpu.counterAt(this.hv.timeOf(this.vcpu));
  }

  setTimer(cval: bigint | undefined): void {
    if (!this.live()) return;
    this.vcpu.setTimer(cval, this.hv.timeOf(this.vcpu));
  }

  // ---- GICv3 CPU interface ----

  setIrqVector(vector: IrqVector | undefined): void {
    this.vector = vector;
  }

  gicAcknowledge(): number {
    if (!this.live()) return GIC_SPURIOUS;
    // A vector is synchronous guest code: one that keeps acknowledging a level interrupt it never
    // clears (EOI re-pends it at once) would never give the CPU back, on real hardware a livelock
    // the hypervisor's timer preempts. Here nothing could, so the vCPU is stopped with the reason.
    if (this.vcpu.inVector && ++this.vcpu.vectorAcks > MAX_ACKS_PER_IRQ_ENTRY) {
      throw new Error(`interrupt storm: more than ${MAX_ACKS_PER_IRQ_ENTRY} interrupts acknowledged in one IRQ entry (a level interrupt the handler never clears?)`);
    }
    const id = this.vcpu.gic.acknowledge();
    if (id !== GIC_SPURIOUS) this.hv.trace.irq(this.vcpu, id, 'ack');
    return id;
  }

  gicEndOfInterrupt(intid: number): void {
    if (!this.live()) return;
    this.hv.cur = this.vcpu;
    try {
      this.vcpu.gic.endOfInterrupt(intid);
    } finally {
      this.hv.cur = null;
    }
    this.hv.trace.irq(this.vcpu, intid, 'eoi');
  }

  gicSendSgi(intid: number, targets: readonly number[]): void {
    if (!this.live()) return;
    if (!Number.isInteger(intid) || intid < 0 || intid > 15) return;
    this.hv.cur = this.vcpu;
    try {
      this.hv.sendSgi(this.vcpu, intid, targets);
    } finally {
      this.hv.cur = null;
    }
  }

  setIrqMasked(masked: boolean): void {
    if (!this.live()) return;
    this.vcpu.gic.masked = masked;
    // Unmasking with an interrupt pending takes it at the next preemption point; an idle vCPU
    // that unmasks is woken by the line check when it is found idle.
  }
}
