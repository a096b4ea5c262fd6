// A small deterministic machine for core/ unit tests: sparse RAM, a virtual counter the test advances,
// a FakeGic, MMIO devices, a pluggable hvc handler, and vCPUs implementing core's Cpu. Interrupts are
// taken at preemption points (hvc, mmio, spin, wfi) and when the test calls `settle`/`advance`.
import type { AccessSize, Cpu, IrqVector } from '../../../core/index';
import { FakeGic, type FakeMmioDevice } from './fake-gic';

export class FakeAbort extends Error {
  constructor(readonly ipa: bigint) {
    super(`fake abort at 0x${ipa.toString(16)}`);
  }
}

const PAGE = 4096n;
export const COUNTER_HZ = 62_500_000;

export type HvcHandler = (cpu: FakeCpu, imm: number) => void | Promise<void>;

export class FakeMachine {
  readonly pages = new Map<bigint, Uint8Array>();
  readonly ram: { base: bigint; size: bigint }[];
  readonly mmio: { base: bigint; size: bigint; dev: FakeMmioDevice }[] = [];
  readonly cpus: FakeCpu[] = [];
  readonly gic: FakeGic;
  /** Virtual time in ns. */
  now = 0;
  hvcHandler: HvcHandler = (cpu) => {
    cpu.x[0] = BigInt.asUintN(64, -1n);
  };
  /** Every hvc function ID seen, in order. */
  readonly hvcLog: bigint[] = [];

  constructor(opts: { ncpus?: number; ram?: { base: bigint; size: bigint }[]; spiLines?: number } = {}) {
    const n = opts.ncpus ?? 1;
    this.ram = opts.ram ?? [{ base: 0x80000000n, size: 0x1000000n }];
    for (let i = 0; i < n; i++) this.cpus.push(new FakeCpu(this, i));
    this.gic = new FakeGic(n, opts.spiLines ?? 96, 0x3fff0000n, 0x3ff00000n, this.cpus.map((c) => c.mpidr));
    this.mmio.push({ base: this.gic.distBase, size: this.gic.distSize, dev: this.gic.dist });
    this.mmio.push({ base: this.gic.redistBase, size: this.gic.redistSize, dev: this.gic.redist });
  }

  get counter(): bigint {
    return BigInt(Math.floor((this.now * COUNTER_HZ) / 1e9));
  }

  isRam(ipa: bigint, len: number): boolean {
    return this.ram.some((r) => ipa >= r.base && ipa + BigInt(len) <= r.base + r.size);
  }

  page(ipa: bigint): Uint8Array {
    const pn = ipa / PAGE;
    let p = this.pages.get(pn);
    if (!p) {
      p = new Uint8Array(Number(PAGE));
      this.pages.set(pn, p);
    }
    return p;
  }

  read(ipa: bigint, into: Uint8Array): void {
    if (!this.isRam(ipa, into.length)) throw new FakeAbort(ipa);
    for (let i = 0; i < into.length; ) {
      const a = ipa + BigInt(i);
      const off = Number(a % PAGE);
      const n = Math.min(into.length - i, Number(PAGE) - off);
      const p = this.pages.get(a / PAGE);
      if (p) into.set(p.subarray(off, off + n), i);
      else into.fill(0, i, i + n);
      i += n;
    }
  }

  write(ipa: bigint, from: Uint8Array): void {
    if (!this.isRam(ipa, from.length)) throw new FakeAbort(ipa);
    for (let i = 0; i < from.length; ) {
      const a = ipa + BigInt(i);
      const off = Number(a % PAGE);
      const n = Math.min(from.length - i, Number(PAGE) - off);
      this.page(a).set(from.subarray(i, i + n), off);
      i += n;
    }
  }

  mmioDev(ipa: bigint): { dev: FakeMmioDevice; off: bigint } {
    for (const m of this.mmio) if (ipa >= m.base && ipa < m.base + m.size) return { dev: m.dev, off: ipa - m.base };
    throw new FakeAbort(ipa);
  }

  /**
   * One delivery round: fire expired timers, then each CPU with a deliverable interrupt takes one IRQ
   * exception (as it would at a preemption point). Returns whether any vector ran.
   */
  deliver(): boolean {
    let any = false;
    for (const c of this.cpus) {
      if (c.cval !== undefined && this.counter >= c.cval) {
        this.gic.pending[c.index]!.add(27);
        this.gic.levelAsserted[c.index]!.add(27);
      } else this.gic.levelAsserted[c.index]!.delete(27);
      if (c.takeIrq()) any = true;
    }
    return any;
  }

  /** Let async guest code run until nothing is left to do at the current time. */
  async settle(): Promise<void> {
    let quiet = 0;
    for (let i = 0; i < 20_000; i++) {
      await new Promise<void>((r) => setImmediate(r));
      if (this.deliver()) quiet = 0;
      else if (++quiet >= 2) return;
    }
    throw new Error('fake machine: interrupt storm (guest never settles)');
  }

  private pendingWork(): boolean {
    return this.cpus.some((c) => c.irqReady());
  }

  /** Advance virtual time by `ns`, stopping at each armed timer so callbacks run at their time. */
  async advance(ns: number): Promise<void> {
    const end = this.now + ns;
    await this.settle();
    for (let i = 0; i < 100_000; i++) {
      const next = this.nextTimerNs();
      if (next === undefined || next > end) break;
      this.now = Math.max(this.now, next);
      await this.settle();
    }
    this.now = end;
    await this.settle();
  }

  private nextTimerNs(): number | undefined {
    let best: number | undefined;
    for (const c of this.cpus) {
      if (c.cval === undefined) continue;
      const t = Math.ceil((Number(c.cval) * 1e9) / COUNTER_HZ);
      if (best === undefined || t < best) best = t;
    }
    return best;
  }
}

export class FakeCpu implements Cpu {
  readonly x = new BigUint64Array(31);
  readonly mpidr: bigint;
  readonly counterFrequency = COUNTER_HZ;
  cval: bigint | undefined;
  vector: IrqVector | undefined;
  masked = true;
  hvcCount = 0;

  constructor(
    readonly machine: FakeMachine,
    readonly index: number,
  ) {
    this.mpidr = 0x80000000n | BigInt(index);
  }

  irqReady(): boolean {
    return !this.masked && this.vector !== undefined && this.machine.gic.deliverable(this.index) !== undefined;
  }

  /** Take the IRQ exception if one is deliverable; returns whether the vector ran. */
  takeIrq(): boolean {
    if (!this.irqReady()) return false;
    this.vector!();
    return true;
  }

  private async preempt(): Promise<void> {
    await Promise.resolve();
    this.machine.deliver();
  }

  async hvc(imm = 0): Promise<void> {
    this.hvcCount++;
    this.machine.hvcLog.push(this.x[0]!);
    await this.preempt();
    await this.machine.hvcHandler(this, imm);
  }

  async smc(): Promise<void> {
    await this.preempt();
    this.x[0] = BigInt.asUintN(64, -1n);
  }

  read(ipa: bigint, into: Uint8Array): void {
    this.machine.read(ipa, into);
  }
  write(ipa: bigint, from: Uint8Array): void {
    this.machine.write(ipa, from);
  }
  private readN(ipa: bigint, n: number): DataView {
    const b = new Uint8Array(n);
    this.machine.read(ipa, b);
    return new DataView(b.buffer);
  }
  read8(ipa: bigint): number {
    return this.readN(ipa, 1).getUint8(0);
  }
  read16(ipa: bigint): number {
    return this.readN(ipa, 2).getUint16(0, true);
  }
  read32(ipa: bigint): number {
    return this.readN(ipa, 4).getUint32(0, true);
  }
  read64(ipa: bigint): bigint {
    return this.readN(ipa, 8).getBigUint64(0, true);
  }
  private writeN(ipa: bigint, n: number, f: (dv: DataView) => void): void {
    const b = new Uint8Array(n);
    f(new DataView(b.buffer));
    this.machine.write(ipa, b);
  }
  write8(ipa: bigint, v: number): void {
    this.writeN(ipa, 1, (dv) => dv.setUint8(0, v));
  }
  write16(ipa: bigint, v: number): void {
    this.writeN(ipa, 2, (dv) => dv.setUint16(0, v, true));
  }
  write32(ipa: bigint, v: number): void {
    this.writeN(ipa, 4, (dv) => dv.setUint32(0, v, true));
  }
  write64(ipa: bigint, v: bigint): void {
    this.writeN(ipa, 8, (dv) => dv.setBigUint64(0, v, true));
  }

  async mmioRead(ipa: bigint, size: AccessSize): Promise<bigint> {
    await this.preempt();
    if (this.machine.isRam(ipa, size)) return this.readN(ipa, size).getBigUint64(0, true);
    const { dev, off } = this.machine.mmioDev(ipa);
    return dev.read(off, size);
  }

  async mmioWrite(ipa: bigint, size: AccessSize, value: bigint): Promise<void> {
    await this.preempt();
    const { dev, off } = this.machine.mmioDev(ipa);
    dev.write(off, size, value);
  }

  async wfi(): Promise<void> {
    await this.preempt();
  }

  async spin(ns: number): Promise<void> {
    this.machine.now += ns;
    await this.preempt();
  }

  counter(): bigint {
    return this.machine.counter;
  }

  setTimer(cval: bigint | undefined): void {
    this.cval = cval;
    if (cval === undefined) {
      this.machine.gic.lower(27, this.index);
    }
  }

  setIrqVector(v: IrqVector | undefined): void {
    this.vector = v;
  }

  gicAcknowledge(): number {
    return this.machine.gic.acknowledge(this.index);
  }

  gicEndOfInterrupt(intid: number): void {
    this.machine.gic.eoi(this.index, intid);
  }

  gicSendSgi(intid: number, targets: readonly number[]): void {
    for (const t of targets) this.machine.gic.raise(intid, t);
  }

  setIrqMasked(masked: boolean): void {
    this.masked = masked;
  }
}
