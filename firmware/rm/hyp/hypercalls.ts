// Typed wrappers for the hypercalls the RM makes (spec §3), over an HvcPort. Failures the RM treats
// as faults of the operation throw HypCallError (carrying the GH_ERROR code); results that are
// expected outcomes (queue empty or full, vCPU run state) are returned as data.
import { GhError, Hvc } from '../../hypervisor';
import type { HvcPort } from './hvc-port';



/** GH_ERROR values the RM reacts to by name (spec §4). */
export const HypErr = GhError;

export class HypCallError extends Error {
  constructor(
    readonly code: number,
    readonly call: number,
  ) {
    super(`hypercall 0x${call.toString(16)} failed with GH_ERROR ${code}`);
    this.name = 'HypCallError';
  }
}

const RES1 = 0xffff_ffff_ffff_ffffn;

/** Signed error_t from x0. */
function err(x0: bigint): number {
  return Number(BigInt.asIntN(64, x0));
}

export type ObjectKind = 'cspace' | 'addrspace' | 'memextent' | 'thread' | 'doorbell' | 'msgqueue' | 'vic' | 'vpm_group';
const CREATE: Record<ObjectKind, number> = {
  cspace: Hvc.PARTITION_CREATE_CSPACE,
  addrspace: Hvc.PARTITION_CREATE_ADDRSPACE,
  memextent: Hvc.PARTITION_CREATE_MEMEXTENT,
  thread: Hvc.PARTITION_CREATE_THREAD,
  doorbell: Hvc.PARTITION_CREATE_DOORBELL,
  msgqueue: Hvc.PARTITION_CREATE_MSGQUEUE,
  vic: Hvc.PARTITION_CREATE_VIC,
  vpm_group: Hvc.PARTITION_CREATE_VPM_GROUP,
};

export interface VcpuRunCheck {
  err: number;
  state: number;
  data: [bigint, bigint, bigint];
}

export class Hypercalls {
  /** Hypercalls issued (a cost measure for benchmarks and traces). */
  count = 0;

  constructor(private readonly port: HvcPort) {}

  private async raw(n: number, ...args: bigint[]): Promise<readonly bigint[]> {
    this.count++;
    return this.port.call(n, args);
  }

  /** Call and throw HypCallError unless x0 is OK; returns the result registers. */
  private async ok(n: number, ...args: bigint[]): Promise<readonly bigint[]> {
    const r = await this.raw(n, ...args);
    const e = err(r[0]!);
    if (e !== 0) throw new HypCallError(e, n);
    return r;
  }

  async identify(): Promise<{ apiInfo: bigint; flags0: bigint; flags1: bigint; flags2: bigint }> {
    const r = await this.raw(Hvc.HYPERVISOR_IDENTIFY);
    return { apiInfo: r[0]!, flags0: r[1]!, flags1: r[2]!, flags2: r[3]! };
  }

  async create(kind: ObjectKind, partition: bigint, cspace: bigint): Promise<bigint> {
    return (await this.ok(CREATE[kind], partition, cspace, 0n))[1]!;
  }
  async activate(cap: bigint): Promise<void> {
    await this.ok(Hvc.OBJECT_ACTIVATE, cap, 0n);
  }

  // ---- cspaces ----
  async cspaceConfigure(cspace: bigint, maxCaps: number): Promise<void> {
    await this.ok(Hvc.CSPACE_CONFIGURE, cspace, BigInt(maxCaps), 0n);
  }
  async cspaceAttachThread(cspace: bigint, thread: bigint): Promise<void> {
    await this.ok(Hvc.CSPACE_ATTACH_THREAD, cspace, thread, 0n);
  }
  async copyCap(srcCspace: bigint, cap: bigint, dstCspace: bigint, rightsMask: number): Promise<bigint> {
    return (await this.ok(Hvc.CSPACE_COPY_CAP_FROM, srcCspace, cap, dstCspace, BigInt(rightsMask >>> 0), 0n))[1]!;
  }
  async deleteCap(cspace: bigint, cap: bigint): Promise<void> {
    await this.ok(Hvc.CSPACE_DELETE_CAP_FROM, cspace, cap, 0n);
  }

  // ---- address spaces and memory extents ----
  async addrspaceConfigure(as: bigint, vmid: number): Promise<void> {
    await this.ok(Hvc.ADDRSPACE_CONFIGURE, as, BigInt(vmid), 0n);
  }
  async addrspaceAttachThread(as: bigint, thread: bigint): Promise<void> {
    await this.ok(Hvc.ADDRSPACE_ATTACH_THREAD, as, thread, 0n);
  }
  async addrspaceMap(as: bigint, me: bigint, vbase: bigint, mapAttrs: number, mapFlags: number, offset: bigint, size: bigint): Promise<void> {
    await this.ok(Hvc.ADDRSPACE_MAP, as, me, vbase, BigInt(mapAttrs >>> 0), BigInt(mapFlags >>> 0), offset, size);
  }
  async addrspaceUnmap(as: bigint, me: bigint, vbase: bigint, mapFlags: number, offset: bigint, size: bigint): Promise<void> {
    await this.ok(Hvc.ADDRSPACE_UNMAP, as, me, vbase, BigInt(mapFlags >>> 0), offset, size);
  }
  async addrspaceConfigureVmmio(as: bigint, base: bigint, size: bigint, remove = false): Promise<void> {
    await this.ok(Hvc.ADDRSPACE_CONFIGURE_VMMIO, as, base, size, remove ? 1n : 0n, 0n);
  }
  async addrspaceAttachVdevice(as: bigint, vdev: bigint, index: number, vbase: bigint, size: bigint, flags = 0n): Promise<void> {
    await this.ok(Hvc.ADDRSPACE_ATTACH_VDEVICE, as, vdev, BigInt(index), vbase, size, flags);
  }
  async addrspaceLookup(as: bigint, me: bigint, vbase: bigint, size: bigint): Promise<{ offset: bigint; size: bigint; attrs: number }> {
    const r = await this.ok(Hvc.ADDRSPACE_LOOKUP, as, me, vbase, size, 0n);
    return { offset: r[1]!, size: r[2]!, attrs: Number(r[3]! & 0xffff_ffffn) };
  }
  async memextentConfigureDerive(me: bigint, parent: bigint, offset: bigint, size: bigint, attrs: number): Promise<void> {
    await this.ok(Hvc.MEMEXTENT_CONFIGURE_DERIVE, me, parent, offset, size, BigInt(attrs >>> 0), 0n);
  }
  async memextentDonate(options: number, from: bigint, to: bigint, offset: bigint, size: bigint): Promise<void> {
    await this.ok(Hvc.MEMEXTENT_DONATE, BigInt(options >>> 0), from, to, offset, size, 0n);
  }
  async memextentModify(me: bigint, flags: number, offset: bigint, size: bigint): Promise<void> {
    await this.ok(Hvc.MEMEXTENT_MODIFY, me, BigInt(flags >>> 0), offset, size);
  }

  // ---- message queues and doorbells ----
  async msgqueueConfigure(mq: bigint, depth: number, maxMsgSize: number): Promise<void> {
    await this.ok(Hvc.MSGQUEUE_CONFIGURE, mq, BigInt(((maxMsgSize << 16) | depth) >>> 0), 0n);
  }
  async msgqueueBindSendVirq(mq: bigint, vic: bigint, virq: number): Promise<void> {
    await this.ok(Hvc.MSGQUEUE_BIND_SEND_VIRQ, mq, vic, BigInt(virq), 0n);
  }
  async msgqueueBindReceiveVirq(mq: bigint, vic: bigint, virq: number): Promise<void> {
    await this.ok(Hvc.MSGQUEUE_BIND_RECEIVE_VIRQ, mq, vic, BigInt(virq), 0n);
  }
  async msgqueueUnbindSendVirq(mq: bigint): Promise<void> {
    await this.ok(Hvc.MSGQUEUE_UNBIND_SEND_VIRQ, mq, 0n);
  }
  async msgqueueUnbindReceiveVirq(mq: bigint): Promise<void> {
    await this.ok(Hvc.MSGQUEUE_UNBIND_RECEIVE_VIRQ, mq, 0n);
  }
  /** msgqueue_send: data, not an exception (MSGQUEUE_FULL is expected). */
  async msgqueueSend(mq: bigint, size: number, buf: bigint, push: boolean): Promise<{ err: number; notFull: boolean }> {
    const r = await this.raw(Hvc.MSGQUEUE_SEND, mq, BigInt(size), buf, push ? 1n : 0n, 0n);
    return { err: err(r[0]!), notFull: r[1] !== 0n };
  }
  /** msgqueue_receive: data, not an exception (MSGQUEUE_EMPTY is expected). */
  async msgqueueReceive(mq: bigint, buf: bigint, bufSize: number): Promise<{ err: number; size: number; notEmpty: boolean }> {
    const r = await this.raw(Hvc.MSGQUEUE_RECEIVE, mq, buf, BigInt(bufSize), 0n);
    return { err: err(r[0]!), size: Number(r[1]! & 0xffff_ffffn), notEmpty: r[2] !== 0n };
  }
  async doorbellBindVirq(db: bigint, vic: bigint, virq: number): Promise<void> {
    await this.ok(Hvc.DOORBELL_BIND_VIRQ, db, vic, BigInt(virq), 0n);
  }
  async doorbellUnbindVirq(db: bigint): Promise<void> {
    await this.ok(Hvc.DOORBELL_UNBIND_VIRQ, db, 0n);
  }

  async hwirqBindVirq(hwirq: bigint, vic: bigint, virq: number): Promise<void> {
    await this.ok(Hvc.HWIRQ_BIND_VIRQ, hwirq, vic, BigInt(virq), 0n);
  }
  async hwirqUnbindVirq(hwirq: bigint): Promise<void> {
    await this.ok(Hvc.HWIRQ_UNBIND_VIRQ, hwirq, 0n);
  }

  // ---- interrupt controllers, vCPUs, power groups ----
  async vicConfigure(vic: bigint, maxVcpus: number, maxVirqs: number, options = 0, maxMsis = 0): Promise<void> {
    await this.ok(Hvc.VIC_CONFIGURE, vic, BigInt(maxVcpus), BigInt(maxVirqs), BigInt(options), BigInt(maxMsis));
  }
  async vicAttachVcpu(vic: bigint, vcpu: bigint, index: number): Promise<void> {
    await this.ok(Hvc.VIC_ATTACH_VCPU, vic, vcpu, BigInt(index), 0n);
  }
  async vcpuConfigure(vcpu: bigint, options: bigint): Promise<void> {
    await this.ok(Hvc.VCPU_CONFIGURE, vcpu, options, 0n);
  }
  /** `cpu` -1 (CPU_INDEX_INVALID) leaves the vCPU without a physical CPU (proxy scheduling). */
  async vcpuSetAffinity(vcpu: bigint, cpu: number): Promise<void> {
    await this.ok(Hvc.VCPU_SET_AFFINITY, vcpu, cpu < 0 ? 0xffff_ffffn : BigInt(cpu), RES1);
  }
  async vcpuSetPriority(vcpu: bigint, priority: number): Promise<void> {
    await this.ok(Hvc.VCPU_SET_PRIORITY, vcpu, BigInt(priority));
  }
  async vcpuSetTimeslice(vcpu: bigint, ns: bigint): Promise<void> {
    await this.ok(Hvc.VCPU_SET_TIMESLICE, vcpu, ns);
  }
  async vcpuPoweron(vcpu: bigint, entry: bigint, context: bigint, flags = 0n): Promise<void> {
    await this.ok(Hvc.VCPU_POWERON, vcpu, entry, context, flags);
  }
  /** vcpu_register_write: set 0 X0..X30, 1 PC, 2 SP_EL0/EL1 (only while the vCPU is off). */
  async vcpuRegisterWrite(vcpu: bigint, set: number, index: number, value: bigint): Promise<void> {
    await this.ok(Hvc.VCPU_REGISTER_WRITE, vcpu, BigInt(set), BigInt(index), value, 0n);
  }
  /** vcpu_kill: the error is returned (OBJECT_STATE for an already killed vCPU is expected). */
  async vcpuKill(vcpu: bigint): Promise<number> {
    return err((await this.raw(Hvc.VCPU_KILL, vcpu, 0n))[0]!);
  }
  async vcpuBindVirq(vcpu: bigint, vic: bigint, virq: number, type: number): Promise<void> {
    await this.ok(Hvc.VCPU_BIND_VIRQ, vcpu, vic, BigInt(virq), BigInt(type), 0n);
  }
  async vcpuUnbindVirq(vcpu: bigint, type: number): Promise<void> {
    await this.ok(Hvc.VCPU_UNBIND_VIRQ, vcpu, BigInt(type), 0n);
  }
  /** vcpu_run with no resume data: the RM runs a killed proxy vCPU so it can unwind. */
  async vcpuRun(vcpu: bigint): Promise<VcpuRunCheck> {
    const r = await this.raw(Hvc.VCPU_RUN, vcpu, 0n, 0n, 0n, 0n);
    return { err: err(r[0]!), state: Number(r[1]! & 0xffff_ffffn), data: [r[2]!, r[3]!, r[4]!] };
  }
  async vcpuRunCheck(vcpu: bigint): Promise<VcpuRunCheck> {
    const r = await this.raw(Hvc.VCPU_RUN_CHECK, vcpu, 0n);
    return { err: err(r[0]!), state: Number(r[1]! & 0xffff_ffffn), data: [r[2]!, r[3]!, r[4]!] };
  }
  async vpmGroupConfigure(vpm: bigint, options: bigint): Promise<void> {
    await this.ok(Hvc.VPM_GROUP_CONFIGURE, vpm, options, 0n);
  }
  async vpmGroupAttachVcpu(vpm: bigint, vcpu: bigint, index: number): Promise<void> {
    await this.ok(Hvc.VPM_GROUP_ATTACH_VCPU, vpm, vcpu, BigInt(index), 0n);
  }

  /** prng_get_entropy: up to 16 bytes in x1..x4 (32 bits each). */
  async entropy(bytes: number): Promise<Uint8Array> {
    const r = await this.ok(Hvc.PRNG_GET_ENTROPY, BigInt(bytes), 0n);
    const out = new Uint8Array(16);
    const v = new DataView(out.buffer);
    for (let i = 0; i < 4; i++) v.setUint32(i * 4, Number(r[i + 1]! & 0xffff_ffffn), true);
    return out.subarray(0, bytes);
  }
}
