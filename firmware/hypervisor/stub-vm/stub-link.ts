// Placement C, the hypervisor's side: a guest's device window served by a stub VM. An access to the
// window blocks the trapping vCPU and becomes a request message on a queue the stub VM receives
// (its VIRQ wakes the stub's vCPU, which the scheduler runs like any other); the stub's reply on a
// second queue, received here, resumes the vCPU with the value. The stub drives the guest's device
// interrupt, a level, with a doorbell bound to the guest's SPI: doorbell_send raises it and
// doorbell_receive (the stub's cap has both rights) lowers it. The queues and the doorbell are ordinary objects whose caps sit in the stub VM's
// cspace; the hypervisor holds the other ends.
//
// Failure: a stub that has stopped (halted, powered off, gone) or does not answer an access within
// STUB_REPLY_TIMEOUT_NS of virtual time is dead: every pending and later access completes as a bus
// error (reads all ones, writes dropped) and the guest's interrupt is raised once so that a driver
// waiting for the device looks at it. The guest sees errors, never a hang.
import { GhError, HypervisorError } from '../abi/errors';
import { ObjectState, ObjectType } from '../abi/objects';
import type { Hypervisor } from '../hypervisor';
import { Doorbell } from '../ipc/doorbell';
import { Msgqueue } from '../ipc/msgqueue';
import { Access } from '../abi/memory';
import { Memextent } from '../mem/memextent';
import type { CSpace } from '../objects/cspace';
import type { KObject } from '../objects/kobject';
import { VState, type Vcpu } from '../vm/vcpu';
import type { Vic } from '../irq/vic';
import { decodeStubMessage, encodeStubMessage, STUB_MAX_PAYLOAD, STUB_MSG_SIZE, STUB_QUEUE_DEPTH, STUB_REPLY_TIMEOUT_NS, StubOp } from './stub-abi';

export interface StubLinkConfig {
  guestVmid: number;
  /** The device window in the guest's IPA space. */
  base: bigint;
  size: bigint;
  /** The guest INTID of the device's interrupt. */
  guestIntid: number;
  stubVmid: number;
  /** The stub's INTID for "a request is waiting". */
  requestIntid: number;
  /** Bytes the device sent to its character backend. */
  chardev?: (bytes: Uint8Array) => void;
  replyTimeoutNs?: number;
  /**
   * Guest RAM the stub is granted: [gpa, gpa+size) of the guest, mapped read-write into the stub at
   * `window` through the guest's own memory extents (the memory must be shared, not lent).
   */
  guestRam?: { gpa: bigint; size: bigint; window: bigint };
}

export interface StubLinkStats {
  requests: number;
  replies: number;
  outputs: number;
  /** Accesses answered as bus errors (stub dead, queue full, timeout). */
  failedAccesses: number;
  timeouts: number;
  dead: boolean;
  deadReason: string | undefined;
}

interface Pending {
  complete: (value: bigint) => void;
  size: number;
  failValue: bigint;
}

function vmVcpus(hv: Hypervisor, vmid: number): Vcpu[] {
  const out: Vcpu[] = [];
  for (const o of hv.objects) if (o.type === ObjectType.THREAD && (o as Vcpu).vmid === vmid) out.push(o as Vcpu);
  return out;
}

export class StubLink {
  readonly stats: StubLinkStats = { requests: 0, replies: 0, outputs: 0, failedAccesses: 0, timeouts: 0, dead: false, deadReason: undefined };
  /** Caps of the stub's ends, in the stub VM's cspace. */
  readonly caps: { request: bigint; reply: bigint; doorbell: bigint };
  private readonly request: Msgqueue;
  private readonly reply: Msgqueue;
  private readonly doorbell: Doorbell;
  private readonly stubCspace: CSpace;
  private readonly stubVcpus: Vcpu[];
  private readonly pending = new Map<number, Pending>();
  private readonly inputs = new Map<number, (accepted: number) => void>();
  private seq = 1;
  private readonly removeHandler: () => void;
  private closed = false;

  constructor(
    private readonly hv: Hypervisor,
    private readonly config: StubLinkConfig,
  ) {
    const guest = vmVcpus(hv, config.guestVmid).find((v) => v.vic);
    const stubVcpus = vmVcpus(hv, config.stubVmid);
    const stub = stubVcpus.find((v) => v.vic && v.cspace);
    if (!guest?.vic) throw new HypervisorError(GhError.ARGUMENT_INVALID, `VM ${config.guestVmid} has no vCPU with a VIC`);
    if (!stub?.vic || !stub.cspace) throw new HypervisorError(GhError.ARGUMENT_INVALID, `stub VM ${config.stubVmid} has no vCPU with a VIC and a cspace`);
    this.stubVcpus = stubVcpus;
    this.stubCspace = stub.cspace;
    const part = hv.rootPartition;
    const made: KObject[] = [];
    try {
      this.request = this.make(new Msgqueue(hv, part), made, (q) => q.configure(STUB_MSG_SIZE, STUB_QUEUE_DEPTH));
      this.reply = this.make(new Msgqueue(hv, part), made, (q) => q.configure(STUB_MSG_SIZE, STUB_QUEUE_DEPTH));
      this.doorbell = this.make(new Doorbell(hv, part), made, () => GhError.OK);
      this.bind(stub.vic, this.request.rcvSource, config.requestIntid);
      this.bind(guest.vic, this.doorbell.source, config.guestIntid);
      this.caps = { request: this.master(this.request), reply: this.master(this.reply), doorbell: this.master(this.doorbell) };
      if (config.guestRam) this.grant(config.guestRam);
      this.reply.onReceivable = () => this.drainReplies();
      this.removeHandler = hv.attachDeviceHandler(config.guestVmid, config.base, config.size, {
        read: (off, size, acc) => this.access(StubOp.READ, off, size, 0n, acc.defer?.()),
        write: (off, size, value, acc) => void this.access(StubOp.WRITE, off, size, value, acc.defer?.()),
      });
      for (const o of made) {
        o.get();
        this.held.push(o);
      }
    } catch (e) {
      for (const cap of this.madeCaps) this.stubCspace.deleteCap(Number(cap & 0xffff_ffffn), Number(cap >> 32n));
      for (const undo of this.grants.splice(0)) undo();
      for (const o of made) o.maybeDestroy();
      throw e;
    }
  }

  private readonly madeCaps: bigint[] = [];

  /** The guest's RAM mappings as they are now, mapped again into the stub at the window. */
  private grant(g: { gpa: bigint; size: bigint; window: bigint }): void {
    const guestAs = this.hv.vmids.get(this.config.guestVmid);
    const stubAs = this.hv.vmids.get(this.config.stubVmid);
    if (!guestAs || !stubAs) throw new HypervisorError(GhError.ARGUMENT_INVALID, 'stub link: a VM went away');
    const lo = Number(g.gpa);
    const hi = lo + Number(g.size);
    for (const e of guestAs.s2.entries()) {
      const start = Math.max(e.start, lo);
      const end = Math.min(e.end, hi);
      if (start >= end) continue;
      const ext = e.value.ext;
      if (!(ext instanceof Memextent)) continue;
      const offset = e.value.pa + (start - e.start) - ext.physBase;
      const vbase = Number(g.window) + (start - lo);
      const err = ext.mapPartial(stubAs, vbase, offset, end - start, { u: Access.RW, k: Access.RW, mt: e.value.mt });
      if (err !== GhError.OK) throw new HypervisorError(err, `stub link: cannot grant guest IPA 0x${start.toString(16)}+0x${(end - start).toString(16)}`);
      this.grants.push(() => ext.unmapPartial(stubAs, vbase, offset, end - start));
    }
    if (this.grants.length === 0) throw new HypervisorError(GhError.ADDR_INVALID, 'stub link: no guest RAM to grant');
  }

  private readonly grants: (() => void)[] = [];

  /** The link's own references: the objects outlive the stub VM's cspace (its death is handled here). */
  private readonly held: KObject[] = [];

  private make<T extends KObject>(o: T, made: KObject[], configure: (o: T) => number): T {
    made.push(o);
    let err = configure(o);
    if (err === GhError.OK) err = o.activate();
    if (err !== GhError.OK) throw new HypervisorError(err, `stub link: cannot set up a ${ObjectType[o.type] ?? o.type}`);
    return o;
  }

  private bind(vic: Vic, src: Parameters<Vic['bindShared']>[0], intid: number): void {
    const err = vic.bindShared(src, intid);
    if (err !== GhError.OK) throw new HypervisorError(err, `stub link: cannot bind INTID ${intid}`);
  }

  private master(o: KObject): bigint {
    const v = this.stubCspace.createMaster(o);
    if (v < 0) throw new HypervisorError(-v, 'stub link: the stub cspace is full');
    const cap = this.stubCspace.capId(v);
    this.madeCaps.push(cap);
    return cap;
  }

  /** Whether the stub VM can still answer. */
  private stubAlive(): boolean {
    if (this.stats.dead) return false;
    const as = this.hv.vmids.get(this.config.stubVmid);
    const up = as !== undefined && as.state === ObjectState.ACTIVE && this.stubVcpus.some((v) => v.vstate !== VState.OFF && v.vstate !== VState.FAULT && v.threadState !== 'exited' && v.threadState !== 'killed');
    if (!up) this.die('the stub VM stopped');
    return up;
  }

  /** The stub is gone: fail what waits, and tell the guest once. */
  die(reason: string): void {
    if (this.stats.dead) return;
    this.stats.dead = true;
    this.stats.deadReason = reason;
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const p of waiting) {
      this.stats.failedAccesses++;
      p.complete(p.failValue);
    }
    for (const r of this.inputs.values()) r(0);
    this.inputs.clear();
    if (!this.closed) this.hv.defer(() => this.doorbell.send(1, 0));
    // (It stays raised: a driver that looks finds the device reading all ones.)
  }

  private access(op: number, off: number, size: number, value: bigint, complete: ((v: bigint) => void) | undefined): bigint {
    const failValue = op === StubOp.READ ? (1n << BigInt(size * 8)) - 1n : 0n;
    if (!complete || !this.stubAlive()) {
      this.stats.failedAccesses++;
      complete?.(failValue);
      return failValue;
    }
    const seq = this.seq++ >>> 0;
    const err = this.request.sendHost(encodeStubMessage({ op, seq, offset: off, size, value }), true);
    if (err !== GhError.OK) {
      this.stats.failedAccesses++;
      complete(failValue);
      return failValue;
    }
    this.stats.requests++;
    this.pending.set(seq, { complete, size, failValue });
    const limit = this.config.replyTimeoutNs ?? STUB_REPLY_TIMEOUT_NS;
    this.hv.machine.at(this.hv.localNow() + limit, () => {
      if (!this.pending.has(seq)) return;
      this.stats.timeouts++;
      this.die(`no answer within ${limit} ns`);
    });
    return 0n;
  }

  private drainReplies(): void {
    for (let m = this.reply.receiveHost(); m; m = this.reply.receiveHost()) {
      const r = decodeStubMessage(m);
      if (!r) continue;
      if (r.op === StubOp.OUTPUT) {
        this.stats.outputs++;
        if (!this.closed) this.config.chardev?.(r.payload.slice());
        continue;
      }
      if (r.op === StubOp.INPUT) {
        const done = this.inputs.get(r.seq);
        this.inputs.delete(r.seq);
        done?.(Number(BigInt.asUintN(32, r.value)));
        continue;
      }
      const p = this.pending.get(r.seq);
      if (!p) continue;
      this.pending.delete(r.seq);
      this.stats.replies++;
      p.complete(BigInt.asUintN(p.size * 8, r.value));
    }
  }

  /** Host bytes for the device's character backend; resolves with how many it accepted. */
  input(bytes: Uint8Array): Promise<number> {
    return new Promise((resolve) => {
      this.hv.machine.post(() => {
        if (!this.stubAlive()) return resolve(0);
        const payload = bytes.subarray(0, STUB_MAX_PAYLOAD);
        const seq = this.seq++ >>> 0;
        if (this.request.sendHost(encodeStubMessage({ op: StubOp.INPUT, seq, offset: payload.length, size: 0, value: 0n, payload }), true) !== GhError.OK) return resolve(0);
        this.inputs.set(seq, resolve);
      });
    });
  }

  /** Unclaim the window, fail what waits and drop the stub's caps. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.removeHandler();
    this.die('closed');
    this.reply.onReceivable = undefined;
    for (const undo of this.grants.splice(0)) undo();
    if (this.stubCspace.alive) {
      for (const cap of [this.caps.request, this.caps.reply, this.caps.doorbell]) this.stubCspace.deleteCap(Number(cap & 0xffff_ffffn), Number(cap >> 32n));
    }
    // Lower the guest's line and let the objects go.
    this.doorbell.receive(0xffff_ffff, 0xffff_ffff);
    for (const o of this.held.splice(0)) o.put();
  }
}
