// Request payload encoders for the test client (little-endian, the layouts of spec §15/§16).
import { PayloadWriter } from '../../../firmware/rm';

export type Acl = { vmid: number; rights: number }[];
export type Sgl = { ipa: bigint; size: bigint }[];
export type Attrs = { attr: number; vmid: number }[];

/** "common vmid": u16 vmid, u16 reserved. */
export function vmidReq(vmid: number): Uint8Array {
  return new PayloadWriter(4).u16(vmid).u16(0).finish();
}

export function stopReq(vmid: number, force: boolean, reason = 0): Uint8Array {
  return new PayloadWriter(8).u16(vmid).u8(force ? 1 : 0).u8(0).u32(reason).finish();
}

export function exitReq(flags: number, code: number): Uint8Array {
  return new PayloadWriter(4).u16(flags).u8(code).u8(0).finish();
}

export function configImageReq(vmid: number, auth: number, handle: number, imageOffset: bigint, imageSize: bigint, dtOffset: bigint, dtSize: bigint): Uint8Array {
  return new PayloadWriter(40).u16(vmid).u16(auth).u32(handle).u64(imageOffset).u64(imageSize).u64(dtOffset).u64(dtSize).finish();
}

function lists(w: PayloadWriter, acl: Acl, sgl: Sgl, attrs: Attrs, mapVmid = 0): void {
  w.listHeader(acl.length);
  for (const a of acl) w.u16(a.vmid).u8(a.rights).u8(0);
  w.listHeader(sgl.length, mapVmid);
  for (const s of sgl) w.u64(s.ipa).u64(s.size);
  w.listHeader(attrs.length);
  for (const a of attrs) w.u16(a.attr).u16(a.vmid);
}

export function createReq(o: { memType?: number; flags?: number; label?: number; acl: Acl; sgl: Sgl; attrs?: Attrs }): Uint8Array {
  const w = new PayloadWriter(64).u8(o.memType ?? 0).u8(0).u8(o.flags ?? 0).u8(0).u32(o.label ?? 0);
  lists(w, o.acl, o.sgl, o.attrs ?? []);
  return w.finish();
}

export function acceptReq(o: { handle: number; memType?: number; transType: number; flags: number; label?: number; acl?: Acl; sgl?: Sgl; attrs?: Attrs; mapVmid?: number }): Uint8Array {
  const w = new PayloadWriter(64).u32(o.handle).u8(o.memType ?? 0).u8(o.transType).u8(o.flags).u8(0).u32(o.label ?? 0);
  lists(w, o.acl ?? [], o.sgl ?? [], o.attrs ?? [], o.mapVmid ?? 0);
  return w.finish();
}

export function handleFlagsReq(handle: number, flags = 0): Uint8Array {
  return new PayloadWriter(8).u32(handle).u8(flags).u8(0).u16(0).finish();
}

export function notifyReq(handle: number, flags: number, tag: number, vmids: number[]): Uint8Array {
  const w = new PayloadWriter(32).u32(handle).u8(flags).u8(0).u16(0).u32(tag).listHeader(vmids.length);
  for (const v of vmids) w.u16(v).u16(0);
  return w.finish();
}

export function appendReq(handle: number, flags: number, sgl: Sgl): Uint8Array {
  const w = new PayloadWriter(32).u32(handle).u8(flags).u8(0).u16(0).listHeader(sgl.length);
  for (const s of sgl) w.u64(s.ipa).u64(s.size);
  return w.finish();
}

export function consoleReq(target: number, bytes?: Uint8Array): Uint8Array {
  const w = new PayloadWriter(8).u16(target).u16(bytes ? bytes.length : 0);
  if (bytes) w.bytes(bytes);
  return w.finish();
}

export function statusReq(osState: number, appStatus: number): Uint8Array {
  return new PayloadWriter(4).u8(0).u8(osState).u16(appStatus).finish();
}

/** Read a u32 at `off` of a reply's data. */
export function u32At(b: Uint8Array, off = 0): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(off, true);
}
export function u16At(b: Uint8Array, off = 0): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint16(off, true);
}
export function u64At(b: Uint8Array, off = 0): bigint {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(off, true);
}
