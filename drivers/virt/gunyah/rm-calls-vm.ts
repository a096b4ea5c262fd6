// Typed RM calls for VM lifecycle, identity and state queries, boot configuration, IRQ lending and the
// console (payloads of spec/hypervisor-and-rm.md §15 and linux-drivers.md §4.5; little-endian, packed).
import { Errno } from '../../../core/index';
import { RM_MSG } from './rm-abi';
import { PayloadReader, PayloadWriter } from './rm-payload';
import type { GhRmRpc } from './rm-rpc';

/** `GH_VMID_SELF`: "my own" in console calls and queries. */
export const GH_VMID_SELF = 0;
/** The largest console write that fits one RPC fragment (240 - 8 header - 4 vmid/len). */
export const GH_RM_CONSOLE_WRITE_CHARS = 228;
/** RM limits (vm_mgnt.h, rm_types.h). */
export const RM_MAX_CRASH_MSG = 192;
export const RM_MAX_NAME_URI = 79;
/** The size of a VM_GET_HYP_RESOURCES entry (packed; spec linux-drivers §4.6). */
export const GH_RM_HYP_RESOURCE_SIZE = 44;

export const GH_RM_RESOURCE_TYPE = { BELL_TX: 0, BELL_RX: 1, MSGQ_TX: 2, MSGQ_RX: 3, VCPU: 4, VPM: 5, VIRTIO_MMIO: 6, VRTC: 7, WATCHDOG: 8 } as const;

export interface GhRmHypResource {
  type: number;
  partnerVmid: number;
  resourceHandle: number;
  resourceLabel: number;
  capid: bigint;
  virqHandle: number;
  /** 0 = none; 32..1019 an SPI, 4096..5119 an extended SPI. */
  virq: number;
  base: bigint;
  size: bigint;
}

export interface GhRmVmState {
  vmStatus: number;
  osStatus: number;
  appStatus: number;
}

export interface GhRmVmIdEntry {
  /** 0 GUID, 1 URI, 2 NAME, 3 SIGN_AUTH. */
  type: number;
  data: Uint8Array;
}

/** VM_STOP flags and reasons. */
export const GH_RM_VM_STOP_FLAG_FORCE = 1;
export const GH_RM_VM_STOP_REASON_FORCE_STOP = 3;

const vmidOnly = (vmid: number) => new PayloadWriter().u16(vmid).u16(0).finish();

function lenPadded(s: Uint8Array, max: number, what: string): PayloadWriter {
  if (s.length > max) throw new Errno('EINVAL', `${what} of ${s.length} bytes (max ${max})`);
  return new PayloadWriter().u16(s.length).u16(0).bytes(s).pad4();
}

export class GhRmVmCalls {
  constructor(private readonly rpc: GhRmRpc) {}

  private async empty(msgId: number, payload?: Uint8Array): Promise<void> {
    await this.rpc.call(msgId, payload);
  }

  private u32List(r: Uint8Array, what: string): number[] {
    const p = new PayloadReader(r, what);
    const n = p.count(p.u32(), 4, 1024);
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(p.u32());
    return out;
  }

  // ---- lifecycle ----

  /** VM_ALLOC_VMID: 0 asks for a dynamic VMID (returned); otherwise that VMID is reserved. */
  async allocVmid(vmid = 0): Promise<number> {
    const r = await this.rpc.call(RM_MSG.VM_ALLOC_VMID, vmidOnly(vmid));
    if (vmid !== 0) return vmid;
    const p = new PayloadReader(r, 'VM_ALLOC_VMID');
    return p.u32() & 0xffff;
  }

  deallocVmid(vmid: number): Promise<void> {
    return this.empty(RM_MSG.VM_DEALLOC_VMID, vmidOnly(vmid));
  }

  start(vmid: number): Promise<void> {
    return this.empty(RM_MSG.VM_START, vmidOnly(vmid));
  }

  /** VM_STOP: Linux always forces, reason FORCE_STOP. */
  stop(vmid: number, flags = GH_RM_VM_STOP_FLAG_FORCE, reason = GH_RM_VM_STOP_REASON_FORCE_STOP): Promise<void> {
    return this.empty(RM_MSG.VM_STOP, new PayloadWriter().u16(vmid).u8(flags).u8(0).u32(reason).finish());
  }

  reset(vmid: number): Promise<void> {
    return this.empty(RM_MSG.VM_RESET, vmidOnly(vmid));
  }

  init(vmid: number): Promise<void> {
    return this.empty(RM_MSG.VM_INIT, vmidOnly(vmid));
  }

  /** VM_CONFIG_IMAGE: offsets are relative to the memparcel `memHandle`. */
  configImage(vmid: number, authMech: number, memHandle: number, imageOffset: bigint, imageSize: bigint, dtbOffset: bigint, dtbSize: bigint): Promise<void> {
    return this.empty(RM_MSG.VM_CONFIG_IMAGE, new PayloadWriter().u16(vmid).u16(authMech).u32(memHandle).u64(imageOffset).u64(imageSize).u64(dtbOffset).u64(dtbSize).finish());
  }

  async authImage(vmid: number, params: readonly { type: number; value: number }[]): Promise<void> {
    const w = new PayloadWriter().u16(vmid).u16(params.length);
    for (const p of params) w.u32(p.type).u32(p.value);
    return this.empty(RM_MSG.VM_AUTH_IMAGE, w.finish());
  }

  /** VM_EXIT: this VM exits itself. */
  exit(exitFlags: number, exitCode: number): Promise<void> {
    return this.empty(RM_MSG.VM_EXIT, new PayloadWriter().u16(exitFlags).u8(exitCode).u8(0).finish());
  }

  async setCrashMsg(msg: Uint8Array): Promise<void> {
    return this.empty(RM_MSG.VM_SET_CRASH_MSG, lenPadded(msg, RM_MAX_CRASH_MSG, 'crash message').finish());
  }

  setStatus(osStatus: number, appStatus: number): Promise<void> {
    return this.empty(RM_MSG.VM_SET_STATUS, new PayloadWriter().u8(0).u8(osStatus).u16(appStatus).finish());
  }

  // ---- queries ----

  /** VM_GET_VMID: the caller's VMID (low 16 bits of the LE32 reply). */
  async getVmid(): Promise<number> {
    const r = await this.rpc.call(RM_MSG.VM_GET_VMID);
    return new PayloadReader(r, 'VM_GET_VMID').u32() & 0xffff;
  }

  async getOwner(): Promise<number> {
    return new PayloadReader(await this.rpc.call(RM_MSG.VM_GET_OWNER), 'VM_GET_OWNER').u32();
  }

  async getPeers(): Promise<number[]> {
    return this.u32List(await this.rpc.call(RM_MSG.VM_GET_PEERS), 'VM_GET_PEERS');
  }

  async getState(vmid = GH_VMID_SELF): Promise<GhRmVmState> {
    const v = new PayloadReader(await this.rpc.call(RM_MSG.VM_GET_STATE, vmidOnly(vmid)), 'VM_GET_STATE').u32();
    return { vmStatus: v & 0xff, osStatus: (v >>> 8) & 0xff, appStatus: v >>> 16 };
  }

  async getId(vmid = GH_VMID_SELF): Promise<GhRmVmIdEntry[]> {
    const p = new PayloadReader(await this.rpc.call(RM_MSG.VM_GET_ID, vmidOnly(vmid)), 'VM_GET_ID');
    const n = p.count(p.u32(), 4, 16);
    const out: GhRmVmIdEntry[] = [];
    for (let i = 0; i < n; i++) {
      const type = p.u8();
      p.skip(1);
      const len = p.u16();
      out.push({ type, data: p.bytes(len) });
      p.skip((4 - (len % 4)) % 4);
    }
    return out;
  }

  async getCrashMsg(vmid: number): Promise<Uint8Array> {
    const p = new PayloadReader(await this.rpc.call(RM_MSG.VM_GET_CRASH_MSG, vmidOnly(vmid)), 'VM_GET_CRASH_MSG');
    const len = p.u16();
    p.skip(2);
    if (len > RM_MAX_CRASH_MSG) throw new Errno('EBADMSG', `VM_GET_CRASH_MSG: ${len} bytes (max ${RM_MAX_CRASH_MSG})`);
    return p.bytes(len);
  }

  async lookupUri(uri: Uint8Array): Promise<number[]> {
    return this.u32List(await this.rpc.call(RM_MSG.VM_LOOKUP_URI, lenPadded(uri, RM_MAX_NAME_URI, 'URI').finish()), 'VM_LOOKUP_URI');
  }

  async lookupName(name: Uint8Array): Promise<number[]> {
    return this.u32List(await this.rpc.call(RM_MSG.VM_LOOKUP_NAME, lenPadded(name, RM_MAX_NAME_URI, 'name').finish()), 'VM_LOOKUP_NAME');
  }

  async lookupGuid(guid: Uint8Array): Promise<number[]> {
    if (guid.length !== 16) throw new Errno('EINVAL', `GUID of ${guid.length} bytes`);
    return this.u32List(await this.rpc.call(RM_MSG.VM_LOOKUP_GUID, guid), 'VM_LOOKUP_GUID');
  }

  /** VM_HOST_GET_TYPE: 0x01000164 for AArch64 Gunyah with an RM, version 1. */
  async hostGetType(): Promise<number> {
    return new PayloadReader(await this.rpc.call(RM_MSG.VM_HOST_GET_TYPE), 'VM_HOST_GET_TYPE').u32();
  }

  /** VM_GET_HYP_RESOURCES: the reply must be exactly n entries of 44 bytes (else EBADMSG, as Linux). */
  async getHypResources(vmid: number): Promise<GhRmHypResource[]> {
    const r = await this.rpc.call(RM_MSG.VM_GET_HYP_RESOURCES, vmidOnly(vmid));
    const p = new PayloadReader(r, 'VM_GET_HYP_RESOURCES');
    const n = p.u32();
    if (r.length !== 4 + n * GH_RM_HYP_RESOURCE_SIZE) {
      throw new Errno('EBADMSG', `VM_GET_HYP_RESOURCES: ${r.length} bytes for ${n} entries of ${GH_RM_HYP_RESOURCE_SIZE}`);
    }
    const out: GhRmHypResource[] = [];
    for (let i = 0; i < n; i++) {
      const type = p.u8();
      p.skip(1);
      const partnerVmid = p.u16();
      const resourceHandle = p.u32();
      const resourceLabel = p.u32();
      const capid = p.u64();
      const virqHandle = p.u32();
      const virq = p.u32();
      const base = p.u64();
      const size = p.u64();
      out.push({ type, partnerVmid, resourceHandle, resourceLabel, capid, virqHandle, virq, base, size });
    }
    return out;
  }

  /** VM_GET_HYP_CAPIDS / VM_GET_HYP_IRQS (the open-source RM answers UNIMPLEMENTED): raw reply. */
  getHypCapids(vmid: number): Promise<Uint8Array> {
    return this.rpc.call(RM_MSG.VM_GET_HYP_CAPIDS, vmidOnly(vmid));
  }

  getHypIrqs(vmid: number): Promise<Uint8Array> {
    return this.rpc.call(RM_MSG.VM_GET_HYP_IRQS, vmidOnly(vmid));
  }

  // ---- boot configuration ----

  setTimeBase(vmid: number, timeBase: bigint, sysTimerRef: bigint): Promise<void> {
    return this.empty(RM_MSG.VM_SET_TIME_BASE, new PayloadWriter().u16(vmid).u16(0).u64(timeBase).u64(sysTimerRef).finish());
  }

  /** VM_SET_BOOT_CONTEXT (v17): reg_set 0 X, 1 PC, 2 SP. */
  setBootContext(vmid: number, regSet: number, regIndex: number, value: bigint): Promise<void> {
    return this.empty(RM_MSG.VM_SET_BOOT_CONTEXT, new PayloadWriter().u16(vmid).u8(regSet).u8(regIndex).u32(0).u64(value).finish());
  }

  setFirmwareMem(vmid: number, memHandle: number, fwOffset: bigint, fwSize: bigint): Promise<void> {
    return this.empty(RM_MSG.VM_SET_FIRMWARE_MEM, new PayloadWriter().u16(vmid).u16(0).u32(memHandle).u64(fwOffset).u64(fwSize).finish());
  }

  setDemandPaging(vmid: number, ranges: readonly { base: bigint; size: bigint }[]): Promise<void> {
    const w = new PayloadWriter().u16(vmid).u16(0).u32(ranges.length);
    for (const r of ranges) w.u64(r.base).u64(r.size);
    return this.empty(RM_MSG.VM_SET_DEMAND_PAGING, w.finish());
  }

  /** range_id 0 IMAGE, 1 FIRMWARE. */
  setAddressLayout(vmid: number, rangeId: number, base: bigint, size: bigint): Promise<void> {
    return this.empty(RM_MSG.VM_SET_ADDRESS_LAYOUT, new PayloadWriter().u16(vmid).u16(0).u32(rangeId).u64(base).u64(size).finish());
  }

  // ---- IRQ lending ----

  async irqLend(borrowerVmid: number, virq: number, label: number): Promise<number> {
    const r = await this.rpc.call(RM_MSG.VM_IRQ_LEND, new PayloadWriter().u16(borrowerVmid).u16(0).u32(virq).u32(label).finish());
    return new PayloadReader(r, 'VM_IRQ_LEND').u32();
  }

  /** Accept a lent IRQ at `virq` (0xffffffff: let the RM choose); returns the mapped virq. */
  async irqAccept(handle: number, virq: number): Promise<number> {
    const r = await this.rpc.call(RM_MSG.VM_IRQ_ACCEPT, new PayloadWriter().u32(handle).u32(virq).finish());
    return new PayloadReader(r, 'VM_IRQ_ACCEPT').u32();
  }

  irqRelease(handle: number): Promise<void> {
    return this.empty(RM_MSG.VM_IRQ_RELEASE, new PayloadWriter().u32(handle).finish());
  }

  irqReclaim(handle: number): Promise<void> {
    return this.empty(RM_MSG.VM_IRQ_RECLAIM, new PayloadWriter().u32(handle).finish());
  }

  /** flags: 1 LENT, 2 RELEASED, 4 ACCEPTED; LENT names the VMs to notify. */
  irqNotify(handle: number, flags: number, vmids: readonly number[] = []): Promise<void> {
    const w = new PayloadWriter().u32(handle).u8(flags).u8(0).u8(0).u8(0);
    if (vmids.length > 0) w.list(vmids, (x, v) => x.u16(v).u16(0));
    return this.empty(RM_MSG.VM_IRQ_NOTIFY, w.finish());
  }

  /** VM_IRQ_UNMAP: declared by the RM but handled by none of its modules; the payload is passed as is. */
  irqUnmapRaw(payload: Uint8Array): Promise<Uint8Array> {
    return this.rpc.call(RM_MSG.VM_IRQ_UNMAP, payload);
  }

  // ---- console ----

  consoleOpen(vmid = GH_VMID_SELF): Promise<void> {
    return this.empty(RM_MSG.VM_CONSOLE_OPEN, vmidOnly(vmid));
  }

  consoleClose(vmid = GH_VMID_SELF): Promise<void> {
    return this.empty(RM_MSG.VM_CONSOLE_CLOSE, vmidOnly(vmid));
  }

  consoleFlush(vmid = GH_VMID_SELF): Promise<void> {
    return this.empty(RM_MSG.VM_CONSOLE_FLUSH, vmidOnly(vmid));
  }

  /** One CONSOLE_WRITE of at most GH_RM_CONSOLE_WRITE_CHARS bytes (EINVAL above). */
  async consoleWrite(vmid: number, bytes: Uint8Array): Promise<void> {
    if (bytes.length > GH_RM_CONSOLE_WRITE_CHARS) throw new Errno('EINVAL', `console write of ${bytes.length} bytes (max ${GH_RM_CONSOLE_WRITE_CHARS})`);
    return this.empty(RM_MSG.VM_CONSOLE_WRITE, new PayloadWriter().u16(vmid).u16(bytes.length).bytes(bytes).finish());
  }
}

