// The hypervisor: owns the machine, the object registry, the memdb, the scheduler, the hypercall
// dispatcher and the trace stream, and offers the host-side API (platform boot, device handlers,
// invariant checks). Guest code reaches it only through GuestCpu.
import { Observable, Subject } from 'rxjs';
import { GhError, HypervisorError } from './abi/errors';
import { Access, NUM_VMIDS, PAGE_SIZE } from './abi/memory';
import { ObjectState, ObjectType } from './abi/objects';
import { Dispatcher } from './hypercall/dispatcher';
import { GIC_SPI_BASE } from './irq/irq-state';
import { GICD_SIZE, GICR_STRIDE, gicdDevice, gicrDevice } from './irq/gic-mmio';
import { Vic } from './irq/vic';
import { SimpleVirqSource, type VirqSource } from './irq/virq-source';
import type { Machine } from './machine/machine';
import type { Addrspace, VdeviceAccess, VdeviceRange } from './mem/addrspace';
import { Memdb } from './mem/memdb';
import { Memextent } from './mem/memextent';
import type { CapIdScheme } from './objects/cspace';
import type { KObject } from './objects/kobject';
import { Partition } from './objects/partition';
import { Scheduler } from './sched/scheduler';
import { Tracer, type TraceEvent } from './trace';
import { GuestContext } from './vm/guest-context';
import type { Vcpu } from './vm/vcpu';
import { checkInvariants } from './invariants';
import { guestImageDecoder } from './image/image-decoder';

export interface HypervisorOptions {
  /** Cap ID encoding: 'random' (seeded, like production builds) or 'debug' (mult 1, base 0). Default 'random'. */
  capIds?: CapIdScheme;
  /** Bits of guest physical address space (PLATFORM_VM_ADDRESS_SPACE_BITS; 36 on QEMU). */
  ipaBits?: number;
  /** Where every VM sees the vGIC when its VIC allows default addresses (QEMU virt's GIC). */
  gicdBase?: number;
  gicrBase?: number;
  /** Heap of the root partition, from which objects are allocated (bounds hostile allocation). */
  rootHeapBytes?: number;
  /**
   * VMID width: 8 bits (256 VMIDs, what the hypervisor builds with) or 16 (ARMv8.1 VMID16, for
   * machines with more VMs than that). Default 8.
   */
  vmidBits?: 8 | 16;
}

/** A platform-level event: a critical VM powered the device off, reset it, or crashed. */
export interface SystemEvent {
  readonly kind: 'off' | 'reset' | 'crash';
  readonly vmid: number;
  readonly detail?: unknown;
}

/** An emulated device running in the hypervisor on the trapping vCPU's time. */
export interface DeviceHandler {
  read(offset: number, size: number, access: VdeviceAccess): bigint;
  write(offset: number, size: number, value: bigint, access: VdeviceAccess): void;
}

/** A host-driven interrupt line into a VM (for in-hypervisor device models). */
export interface VirqLine {
  readonly intid: number;
  /** Raise the line (level) or latch an edge. */
  assert(): void;
  deassert(): void;
  /** Release the SPI. */
  release(): void;
}

export class Hypervisor {
  readonly memdb = new Memdb();
  readonly objects = new Set<KObject>();
  nextObjectId = 1;
  readonly vmids = new Map<number, Addrspace>();
  readonly trace: Tracer;
  readonly sched: Scheduler;
  readonly dispatcher: Dispatcher;
  readonly rootPartition: Partition;
  readonly ipaLimit: number;
  readonly gicdBase: number;
  readonly gicrBase: number;
  readonly gicrStride = GICR_STRIDE;
  readonly capIdScheme: CapIdScheme;
  /** VMIDs are 1..numVmids-1 (0 is reserved). */
  readonly numVmids: number;
  /** The vCPU whose trap the hypervisor is handling (guest context), or null in event context. */
  cur: Vcpu | null = null;
  private readonly system = new Subject<SystemEvent>();
  /** Platform events (critical VM off/reset/crash). */
  readonly systemEvents$: Observable<SystemEvent> = this.system.asObservable();
  lastSystemEvent: SystemEvent | undefined;

  constructor(
    readonly machine: Machine,
    options: HypervisorOptions = {},
  ) {
    this.capIdScheme = options.capIds ?? 'random';
    this.numVmids = options.vmidBits === 16 ? 0x1_0000 : NUM_VMIDS;
    const bits = options.ipaBits ?? 36;
    if (!Number.isInteger(bits) || bits < 32 || bits > 48) throw new RangeError('ipaBits must be an integer in 32..48');
    this.ipaLimit = 2 ** bits;
    this.gicdBase = options.gicdBase ?? 0x0800_0000;
    this.gicrBase = options.gicrBase ?? 0x080a_0000;
    this.trace = new Tracer(() => this.localNow());
    this.sched = new Scheduler(this);
    this.dispatcher = new Dispatcher(this);
    this.rootPartition = new Partition(this, null, options.rootHeapBytes ?? 256 * 1024 * 1024);
    this.rootPartition.state = ObjectState.ACTIVE;
    // The root partition is kept alive by the hypervisor itself.
    this.rootPartition.get();
    for (const r of machine.mem.regions) this.memdb.insert(r.base, r.base + r.size, this.rootPartition);
    // Guest images in VM memory ("GYTS", image/README.md) are code vCPUs can enter.
    machine.addImageDecoder(guestImageDecoder);
  }

  /** The trace stream (virtual-time stamped); tracing costs nothing until subscribed. */
  get trace$(): Observable<TraceEvent> {
    return this.trace.events$;
  }

  // ---- time and deferral ----

  /** Current time from where the hypervisor stands: the trapping vCPU's local time, else the clock. */
  localNow(): number {
    const c = this.cur;
    return c && c.pcpu ? c.pcpu.localTime : this.machine.now;
  }

  timeOf(v: Vcpu): number {
    return this.sched.timeOf(v);
  }

  /** A trap affected another vCPU: the trapping vCPU syncs with the clock at its next preemption point. */
  noteCrossEffect(): void {
    if (this.cur) this.cur.syncRequested = true;
  }

  /** Run `fn` now in event context; from a trap, as a later event at the trapping vCPU's time. */
  defer(fn: () => void): void {
    const c = this.cur;
    if (!c) return fn();
    c.syncRequested = true;
    this.machine.at(this.localNow(), fn);
  }

  /** virq_assert: an unbound source does nothing (VIRQ_NOT_BOUND), a bound one asserts later. */
  virqAssert(source: VirqSource, edgeOnly: boolean): void {
    if (!source.vic) return;
    this.defer(() => {
      if (Vic.assert(source, edgeOnly) === GhError.OK && this.trace.enabled) {
        const vic = source.vic!;
        const target = source.vcpuIndex >= 0 ? vic.gicrVcpus[source.vcpuIndex] : vic.spiTarget(vic.spi(source.virq)!);
        if (target) this.trace.irq(target, source.virq, 'assert');
      }
    });
  }

  virqClear(source: VirqSource): void {
    if (!source.vic) return;
    this.defer(() => Vic.clear(source));
  }

  /** ICC_SGI1R_EL1 from `v`: SGI `intid` to the listed vCPU indices of its VM, delivered later. */
  sendSgi(v: Vcpu, intid: number, targets: readonly number[]): void {
    const vic = v.vic;
    if (!vic) return;
    const bit = 1 << intid;
    for (const t of targets) {
      if (!Number.isInteger(t) || t < 0 || t >= vic.gicrCount) continue;
      const tv = vic.gicrVcpus[t];
      // One delivery in flight per SGI and target: the pending bit is one bit.
      if (!tv || (tv.sgiInFlight & bit) !== 0) continue;
      tv.sgiInFlight |= bit;
      this.defer(() => {
        tv.sgiInFlight &= ~bit;
        if (vic.gicrVcpus[t] !== tv) return;
        const s = tv.gic.priv[intid]!;
        s.edge = true;
        tv.gic.track(s);
        this.trace.irq(tv, intid, 'sgi');
      });
    }
  }

  // ---- guest memory ----

  /** Copy guest memory at `ipa` (the caller's stage 2; VA = IPA) into `dst`; ADDR_INVALID on a bad page. */
  copyFromGuest(v: Vcpu, ipa: number, dst: Uint8Array, offset = 0, length = dst.length - offset): number {
    return this.guestCopy(v, ipa, dst, offset, length, false);
  }

  copyToGuest(v: Vcpu, ipa: number, src: Uint8Array, offset = 0, length = src.length - offset): number {
    return this.guestCopy(v, ipa, src, offset, length, true);
  }

  private guestCopy(v: Vcpu, ipa: number, buf: Uint8Array, base: number, len: number, toGuest: boolean): number {
    if (!Number.isSafeInteger(ipa + len)) return GhError.ADDR_OVERFLOW;
    const as = v.addrspace;
    if (!as) return GhError.ADDR_INVALID;
    const s2 = as.s2;
    const mem = this.machine.mem;
    const need = toGuest ? Access.W : Access.R;
    // Common case: one stage-2 range covers the whole buffer.
    const i = s2.indexOf(ipa);
    if (i >= 0 && ipa + len <= s2.endAt(i)) {
      const e = s2.valueAt(i);
      const pa = e.pa + (ipa - s2.startAt(i));
      if ((e.k & need) === 0 || !mem.isRam(pa, len)) return GhError.ADDR_INVALID;
      if (toGuest) mem.write(pa, buf, base, len);
      else mem.read(pa, buf, base, len);
      return GhError.OK;
    }
    // Otherwise check every page before touching any: a failed copy changes nothing.
    for (let pass = 0; pass < 2; pass++) {
      for (let off = 0; off < len; ) {
        const a = ipa + off;
        const k = s2.indexOf(a);
        if (k < 0) return GhError.ADDR_INVALID;
        const e = s2.valueAt(k);
        const n = Math.min(len - off, s2.endAt(k) - a, PAGE_SIZE - (a % PAGE_SIZE));
        const pa = e.pa + (a - s2.startAt(k));
        if ((e.k & need) === 0 || !mem.isRam(pa, n)) return GhError.ADDR_INVALID;
        if (pass === 1) {
          if (toGuest) mem.write(pa, buf, base + off, n);
          else mem.read(pa, buf, base + off, n);
        }
        off += n;
      }
    }
    return GhError.OK;
  }

  // ---- vCPU contexts ----

  /** A fresh GuestCpu for a power-on: registers copied so an old context cannot touch the new one. */
  newContext(v: Vcpu): GuestContext {
    if (v.ctx) v.ctx.dead = true;
    v.regs = new BigUint64Array(v.regs);
    const ctx = new GuestContext(this, v, v.regs);
    v.ctx = ctx;
    return ctx;
  }

  /** A critical vCPU faulted: the device is down. The current run fails with the cause. */
  crash(v: Vcpu, err: unknown): void {
    this.emitSystem({ kind: 'crash', vmid: v.vmid, detail: err });
    const e = new Error(`critical vCPU ${v.index} of VM ${v.vmid} crashed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    this.machine.fail(e);
  }

  /** A critical VM asked the platform to power off or reset (PSCI forwarded to firmware). */
  platformPower(v: Vcpu, kind: 'off' | 'reset'): void {
    this.emitSystem({ kind, vmid: v.vmid });
    this.machine.stop();
  }

  private emitSystem(e: SystemEvent): void {
    this.lastSystemEvent = e;
    this.trace.system(`${e.kind} (VM ${e.vmid})`);
    this.system.next(e);
  }

  // ---- vdevices ----

  /** The emulated device at `a` in `as`: an attached range, or the vGIC at the default addresses. */
  findVdevice(as: Addrspace, a: number): { dev: VdeviceRange; base: number } | undefined {
    const i = as.vdevices.indexOf(a);
    if (i >= 0) return { dev: as.vdevices.valueAt(i), base: as.vdevices.startAt(i) };
    const v = this.cur;
    const vic = v?.vic;
    if (!vic || !vic.allowFixedAddr || v.addrspace !== as) return undefined;
    if (!vic.gicdAttachment && a >= this.gicdBase && a < this.gicdBase + GICD_SIZE) {
      return { dev: vic.fixedGicd ??= gicdDevice(vic, this.gicdBase), base: this.gicdBase };
    }
    const r = a - this.gicrBase;
    if (r >= 0 && r < vic.gicrCount * GICR_STRIDE) {
      const idx = Math.floor(r / GICR_STRIDE);
      const gv = vic.gicrVcpus[idx];
      if (!gv || vic.gicrAttachments.has(gv)) return undefined;
      const base = this.gicrBase + idx * GICR_STRIDE;
      return { dev: gicrDevice(vic, gv, base, idx === vic.gicrCount - 1), base };
    }
    return undefined;
  }

  /**
   * Claim [base, base+size) of VM `vmid`'s IPA space for a device emulated in the hypervisor: its
   * accesses run `handler` on the trapping vCPU's time. Returns a function that removes it.
   */
  attachDeviceHandler(vmid: number, base: bigint, size: bigint, handler: DeviceHandler): () => void {
    const as = this.vmids.get(vmid);
    if (!as || as.state !== ObjectState.ACTIVE) throw new HypervisorError(GhError.ARGUMENT_INVALID, `no active address space with VMID ${vmid}`);
    const b = Number(base);
    const dev: VdeviceRange = {
      kind: 'handler',
      base: b,
      read: (ctx, off, sz) => handler.read(off, sz, ctx),
      write: (ctx, off, sz, val) => handler.write(off, sz, val, ctx),
    };
    const err = as.attachVdevice(b, Number(size), dev);
    if (err !== GhError.OK) throw new HypervisorError(err, `cannot attach a device at IPA 0x${base.toString(16)}+0x${size.toString(16)} of VM ${vmid}`);
    return () => as.detachVdevice(dev);
  }

  /** Bind a host-driven interrupt line to SPI `intid` of VM `vmid`'s VIC. */
  createVirqLine(vmid: number, intid: number, opts: { edge?: boolean } = {}): VirqLine {
    let vic: Vic | null = null;
    for (const o of this.objects) {
      if (o.type === ObjectType.THREAD && (o as Vcpu).vmid === vmid && (o as Vcpu).vic) {
        vic = (o as Vcpu).vic;
        break;
      }
    }
    if (!vic) throw new HypervisorError(GhError.ARGUMENT_INVALID, `VM ${vmid} has no vCPU attached to a VIC`);
    if (intid < GIC_SPI_BASE) throw new HypervisorError(GhError.ARGUMENT_INVALID, `INTID ${intid} is not an SPI`);
    const src = new SimpleVirqSource('host');
    const err = vic.bindShared(src, intid);
    if (err !== GhError.OK) throw new HypervisorError(err, `cannot bind SPI ${intid} of VM ${vmid}`);
    const boundVic = vic;
    return {
      intid,
      assert: () => {
        src.asserted = !opts.edge;
        this.virqAssert(src, opts.edge ?? false);
      },
      deassert: () => {
        src.asserted = false;
        this.virqClear(src);
      },
      release: () => boundVic.unbind(src),
    };
  }

  // ---- queries ----

  /** Every memory extent that has a mapping slot naming `as`. */
  memextentsMappedIn(as: Addrspace): Memextent[] {
    const out: Memextent[] = [];
    for (const o of this.objects) if (o instanceof Memextent && o.mapsInto(as)) out.push(o);
    return out;
  }

  /** Verify the invariants of ARCHITECTURE.md; returns the violations found (empty when sound). */
  checkInvariants(): string[] {
    return checkInvariants(this);
  }
}
