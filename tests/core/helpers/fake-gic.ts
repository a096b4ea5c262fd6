// A small GICv3 model for unit tests: distributor and redistributor registers the gic-v3 driver
// programs, enable/pending/active state per INTID, and IAR/EOIR semantics. Not the hypervisor's vGIC.

export interface FakeMmioDevice {
  read(offset: bigint, size: number): bigint;
  write(offset: bigint, size: number, value: bigint): void;
}

export class FakeGic {
  readonly distBase: bigint;
  readonly redistBase: bigint;
  readonly redistStride = 0x20000n;
  /** Register writes in order, for tests that check what the driver programmed. */
  readonly writes: { frame: string; offset: number; value: bigint }[] = [];
  private readonly distRegs = new Map<number, bigint>();
  private readonly redistRegs: Map<number, bigint>[] = [];
  /** Enabled INTIDs: shared (SPI) set, and per-CPU sets for SGI/PPI. */
  readonly spiEnabled = new Set<number>();
  readonly ppiEnabled: Set<number>[] = [];
  readonly pending: Set<number>[] = [];
  readonly active: Set<number>[] = [];
  readonly awake: boolean[] = [];
  /** INTIDs whose source is level and still asserted (re-pend on EOI). */
  readonly levelAsserted: Set<number>[] = [];
  ctlr = 0n;

  constructor(
    readonly ncpus: number,
    readonly spiLines = 96,
    distBase = 0x3fff0000n,
    redistBase = 0x3ffd0000n,
    readonly mpidrs: bigint[] = [],
  ) {
    this.distBase = distBase;
    this.redistBase = redistBase;
    for (let i = 0; i < ncpus; i++) {
      this.redistRegs.push(new Map());
      this.ppiEnabled.push(new Set());
      this.pending.push(new Set());
      this.active.push(new Set());
      this.levelAsserted.push(new Set());
      this.awake.push(false);
    }
  }

  get distSize(): bigint {
    return 0x10000n;
  }

  get redistSize(): bigint {
    return this.redistStride * BigInt(this.ncpus);
  }

  /** Which CPU an SPI is routed to (IROUTER affinity Aff0). */
  routeOf(intid: number): number {
    const v = this.distRegs.get(0x6000 + intid * 8) ?? 0n;
    return Number(v & 0xffn);
  }

  dist: FakeMmioDevice = {
    read: (off) => {
      const o = Number(off);
      if (o === 0x0) return this.ctlr;
      if (o === 0x4) return BigInt(this.spiLines / 32 - 1) & 0x1fn; // ITLinesNumber: 32*(N+1) INTIDs incl. private ones
      if (o >= 0x100 && o < 0x180) return this.bits(this.spiEnabled, (o - 0x100) * 8);
      return this.distRegs.get(o) ?? 0n;
    },
    write: (off, _size, v) => {
      const o = Number(off);
      this.writes.push({ frame: 'GICD', offset: o, value: v });
      if (o === 0x0) {
        this.ctlr = v & 0x7fffffffn;
        return;
      }
      if (o >= 0x100 && o < 0x180) return this.setBits(this.spiEnabled, (o - 0x100) * 8, v, true);
      if (o >= 0x180 && o < 0x200) return this.setBits(this.spiEnabled, (o - 0x180) * 8, v, false);
      this.distRegs.set(o, v);
    },
  };

  redist: FakeMmioDevice = {
    read: (off) => {
      const cpu = Number(off / this.redistStride);
      const o = Number(off % this.redistStride);
      if (o === 0x8) {
        const last = cpu === this.ncpus - 1 ? 1n << 4n : 0n;
        const mpidr = this.mpidrs[cpu] ?? BigInt(cpu);
        return ((mpidr & 0xffffffn) << 32n) | (BigInt(cpu) << 8n) | last;
      }
      if (o === 0x14) return this.awake[cpu] ? 0n : 0x6n;
      if (o === 0x10100) return this.bits(this.ppiEnabled[cpu]!, 0);
      return this.redistRegs[cpu]!.get(o) ?? 0n;
    },
    write: (off, _size, v) => {
      const cpu = Number(off / this.redistStride);
      const o = Number(off % this.redistStride);
      this.writes.push({ frame: `GICR${cpu}`, offset: o, value: v });
      if (o === 0x14) {
        this.awake[cpu] = (v & 2n) === 0n;
        return;
      }
      if (o === 0x10100) return this.setBits(this.ppiEnabled[cpu]!, 0, v, true);
      if (o === 0x10180) return this.setBits(this.ppiEnabled[cpu]!, 0, v, false);
      this.redistRegs[cpu]!.set(o, v);
    },
  };

  private bits(set: Set<number>, first: number): bigint {
    let v = 0n;
    for (let i = 0; i < 32; i++) if (set.has(first + i)) v |= 1n << BigInt(i);
    return v;
  }

  private setBits(set: Set<number>, first: number, v: bigint, on: boolean): void {
    for (let i = 0; i < 32; i++) {
      if (((v >> BigInt(i)) & 1n) === 0n) continue;
      if (on) set.add(first + i);
      else set.delete(first + i);
    }
  }

  /** The ICFGR edge bit of an INTID as the driver programmed it. */
  isEdge(intid: number, cpu = 0): boolean {
    const reg = Math.floor(intid / 16) * 4;
    const v = intid < 32 ? (this.redistRegs[cpu]!.get(0x10c00 + reg) ?? 0n) : (this.distRegs.get(0xc00 + reg) ?? 0n);
    return ((v >> BigInt((intid % 16) * 2 + 1)) & 1n) === 1n;
  }

  enabled(intid: number, cpu: number): boolean {
    return intid < 32 ? this.ppiEnabled[cpu]!.has(intid) : this.spiEnabled.has(intid) && (this.ctlr & 1n) === 1n;
  }

  /** Make an INTID pending (SPIs go to their routed CPU). */
  raise(intid: number, cpu?: number, level = false): number {
    const target = cpu ?? (intid >= 32 ? this.routeOf(intid) : 0);
    this.pending[target]!.add(intid);
    if (level) this.levelAsserted[target]!.add(intid);
    return target;
  }

  lower(intid: number, cpu = 0): void {
    this.levelAsserted[cpu]!.delete(intid);
    this.pending[cpu]!.delete(intid);
  }

  /** The highest-priority (lowest-numbered here) deliverable INTID on `cpu`. */
  deliverable(cpu: number): number | undefined {
    if (this.active[cpu]!.size > 0) return undefined; // all at one priority: an active one blocks the rest
    let best: number | undefined;
    for (const i of this.pending[cpu]!) if (this.enabled(i, cpu) && (best === undefined || i < best)) best = i;
    return best;
  }

  acknowledge(cpu: number): number {
    const i = this.deliverable(cpu);
    if (i === undefined) return 1023;
    this.pending[cpu]!.delete(i);
    this.active[cpu]!.add(i);
    return i;
  }

  eoi(cpu: number, intid: number): void {
    this.active[cpu]!.delete(intid);
    if (this.levelAsserted[cpu]!.has(intid)) this.pending[cpu]!.add(intid);
  }
}
