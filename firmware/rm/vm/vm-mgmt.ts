// VM management requests (spec §13, §15, §17; RM's vm_mgnt.c): allocate/deallocate, start, stop,
// reset, exit, state and status, crash messages, identities and lookups. Payload sizes are checked
// exactly as the RM checks them; an illegal request gets its error and changes nothing.
import { RmMsg, RmNotif } from '../abi/message-ids';
import { vmShutdownPayload } from '../abi/notifications';
import { RmErr, RmError } from '../abi/rm-error';
import { ExitCode, ExitType, OsState, VM_STOP_FLAG_FORCE, VmState, Vmid, isSecondaryVmid, stateChangeValid } from '../abi/vm-state';
import type { ResourceManager } from '../resource-manager';
import type { RmRequest } from '../server/rpc-server';
import { PayloadWriter } from '../wire/payload-writer';
import type { PayloadReader } from '../wire/payload-reader';
import type { Vm } from './vm';

/** Crash messages are truncated to this (VM_MAX_CRASH_MSG_LEN). */
export const MAX_CRASH_MSG = 192;
/** VM_HOST_GET_TYPE: AArch64 (0x64) | Gunyah + RM (1 << 8) | version 1 (1 << 24). */
export const HOST_TYPE = 0x0100_0164;
/** VM_GET_ID identity types. */
export const VmIdType = { GUID: 0, URI: 1, NAME: 2, SIGN_AUTH: 3 } as const;
/** The QEMU platform's signing authority for an unsigned VM (VM_SIGN_INIT). */
const SIGN_AUTHORITY = 'N/A';

function exactLength(body: PayloadReader, n: number): void {
  if (body.remaining !== n) throw new RmError(RmErr.MSG_INVALID, `payload of ${body.remaining} bytes, expected ${n}`);
}

function u32Reply(v: number): Uint8Array {
  return new PayloadWriter(4).u32(v).finish();
}

/** A request naming a VMID in its first u16 (the "common vmid" layout), length checked. */
function vmidArg(req: RmRequest, len = 4): number {
  exactLength(req.body, len);
  return req.body.u16('vmid');
}

/** A length-prefixed, zero-padded byte string (crash message, lookup URI or name). */
function paddedBytes(body: PayloadReader, maxLen: number, tooLong: number): Uint8Array {
  if (body.remaining < 4) throw new RmError(RmErr.MSG_INVALID, 'payload shorter than its length header');
  const len = body.u16('length');
  body.u16('reserved');
  if (len > maxLen) throw new RmError(tooLong, `length ${len} exceeds ${maxLen}`);
  const padded = (len + 3) & ~3;
  if (body.remaining !== padded) throw new RmError(RmErr.MSG_INVALID, `${body.remaining} bytes follow a length of ${len}`);
  const bytes = body.bytesOf(len);
  for (const b of body.bytesOf(padded - len, 'padding')) if (b !== 0) throw new RmError(RmErr.MSG_INVALID, 'non-zero padding');
  return bytes;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export function registerVmMgmt(rm: ResourceManager): void {
  const rpc = rm.rpc;
  const life = rm.lifecycle;
  const enc = new TextEncoder();

  rpc.handle(RmMsg.VM_ALLOCATE, (req) => {
    if (req.client !== Vmid.HLOS) throw new RmError(RmErr.DENIED, 'only the primary VM allocates VMs');
    const requested = vmidArg(req);
    const { vmid, dynamic } = rm.vms.allocateVmid(requested);
    rm.vms.create(vmid, req.client);
    rm.trace(`VM_ALLOCATE ${vmid} for VM ${req.client}`);
    return dynamic ? u32Reply(vmid) : undefined;
  });

  rpc.handle(RmMsg.VM_DEALLOCATE, (req) => {
    const vm = rm.vms.require(vmidArg(req));
    if (req.client !== vm.owner) throw new RmError(RmErr.DENIED, 'not the owner');
    if (vm.state !== VmState.LOAD && vm.state !== VmState.RESET) throw new RmError(RmErr.VM_STATE, 'VM must be in LOAD or RESET');
    rm.vms.delete(vm);
  });

  rpc.handle(RmMsg.VM_START, async (req) => {
    const vm = rm.vms.require(vmidArg(req));
    if (req.client !== vm.owner) throw new RmError(RmErr.DENIED, 'not the owner');
    if (vm.state !== VmState.READY) throw new RmError(RmErr.VM_STATE, 'VM is not READY');
    await rm.creation.start(vm);
  });

  rpc.handle(RmMsg.VM_STOP, async (req) => {
    exactLength(req.body, 8);
    const vm = rm.vms.require(req.body.u16('vmid'));
    const flags = req.body.u8('flags');
    req.body.u8('reserved');
    const stopReason = req.body.u32('stop_reason');
    if (req.client !== vm.owner) throw new RmError(RmErr.VMID_INVALID, 'not the owner');
    if (!stateChangeValid(vm.state, VmState.EXITED, vm.guards) || vm.noShutdown) throw new RmError(RmErr.VM_STATE, 'VM cannot be stopped now');
    if (flags & VM_STOP_FLAG_FORCE) await life.exit(vm, ExitType.VM_STOP_FORCED, 0, ExitCode.NORMAL);
    else await rpc.notify(vm.vmid, RmNotif.VM_SHUTDOWN, vmShutdownPayload(stopReason));
  });

  rpc.handle(RmMsg.VM_RESET, async (req) => {
    const vm = rm.vms.require(vmidArg(req));
    if (req.client !== vm.owner) throw new RmError(RmErr.VMID_INVALID, 'not the owner');
    if (vm.noReset) throw new RmError(RmErr.DENIED, 'VM has no-reset');
    if (!stateChangeValid(vm.state, VmState.RESETTING, vm.guards)) throw new RmError(RmErr.VM_STATE, 'VM cannot be reset now');
    if (vm.state !== VmState.EXITED) await life.stopVcpus(vm);
    await life.setState(vm, VmState.RESETTING);
    life.startReset(vm);
  });

  rpc.handle(RmMsg.VM_EXIT, async (req) => {
    exactLength(req.body, 4);
    const vm = rm.vm(req.client);
    const flags = req.body.u16('exit_flags');
    const code = req.body.u8('exit_code');
    const res0 = req.body.u8('reserved');
    if (vm.crashFatal) throw new RmError(RmErr.ARGUMENT_INVALID, 'a crash-fatal VM may not exit');
    const validCode = code === ExitCode.NORMAL || code === ExitCode.SOFTWARE_ERROR || code === ExitCode.BUS_ERROR || code === ExitCode.DEVICE_ERROR;
    if (res0 !== 0 || !validCode) throw new RmError(RmErr.MSG_INVALID, `bad exit code ${code} or reserved byte`);
    if (vm.state !== VmState.RUNNING && vm.state !== VmState.PAUSED) throw new RmError(RmErr.VM_STATE, 'VM is not running');
    vm.noShutdown = false; // a VM may always exit by itself
    await life.exit(vm, ExitType.VM_EXIT, flags, code);
  });

  rpc.handle(RmMsg.VM_GET_STATE, (req) => {
    const id = vmidArg(req);
    const vm = rm.vms.get(id === 0 ? req.client : id);
    if (!vm) throw new RmError(RmErr.NORESOURCE, `no VM ${id}`);
    if (!rm.vms.queryAllowed(vm, req.client)) throw new RmError(RmErr.DENIED, 'not self, owner or peer');
    return u32Reply((vm.state | (vm.osState << 8) | (vm.appStatus << 16)) >>> 0);
  });

  rpc.handle(RmMsg.VM_SET_STATUS, async (req) => {
    // Only the platform's secondary VMIDs may report status (vm_is_secondary_vm).
    if (!isSecondaryVmid(req.client)) throw new RmError(RmErr.DENIED, 'only secondary VMIDs report status');
    exactLength(req.body, 4);
    req.body.u8('reserved');
    let os = req.body.u8('os_state');
    const app = req.body.u16('app_status');
    const vm = rm.vms.get(req.client);
    if (!vm) throw new RmError(RmErr.NORESOURCE, 'no such VM');
    if (os === OsState.NONE) os = vm.osState;
    else if (os > OsState.CRASHED) throw new RmError(RmErr.ARGUMENT_INVALID, `os_state ${os}`);
    vm.osState = os;
    vm.appStatus = app;
    await life.sendState(vm);
  });

  rpc.handle(RmMsg.VM_GET_CRASH_MSG, (req) => {
    const vm = rm.vms.require(vmidArg(req));
    if (req.client !== vm.owner) throw new RmError(RmErr.VMID_INVALID, 'not the owner');
    const msg = vm.crashMsg ?? new Uint8Array(0);
    return new PayloadWriter(4 + msg.length + 3).u16(msg.length).u16(0).bytes(msg).align4().finish();
  });

  rpc.handle(RmMsg.VM_SET_CRASH_MSG, (req) => {
    const vm = rm.vm(req.client);
    const msg = paddedBytes(req.body, 0xffff, RmErr.MSG_INVALID);
    vm.crashMsg = msg.slice(0, MAX_CRASH_MSG);
  });

  rpc.handle(RmMsg.VM_HOST_GET_TYPE, (req) => {
    exactLength(req.body, 0);
    return u32Reply(HOST_TYPE);
  });

  rpc.handle(RmMsg.VM_GET_ID, (req) => {
    const id = vmidArg(req);
    const vm = rm.vms.get(id === 0 ? req.client : id);
    if (!vm) throw new RmError(RmErr.NORESOURCE, `no VM ${id}`);
    if (vm.state !== VmState.READY && vm.state !== VmState.RUNNING && vm.state !== VmState.PAUSED) throw new RmError(RmErr.VM_STATE, 'VM has no identity yet');
    if (!rm.vms.queryAllowed(vm, req.client)) throw new RmError(RmErr.NORESOURCE, 'not self, owner or peer');
    const entries: [number, Uint8Array][] = [[VmIdType.GUID, vm.guid ?? new Uint8Array(16)]];
    if (vm.name) entries.push([VmIdType.NAME, enc.encode(vm.name)]);
    if (vm.uri) entries.push([VmIdType.URI, enc.encode(vm.uri)]);
    entries.push([VmIdType.SIGN_AUTH, enc.encode(SIGN_AUTHORITY)]);
    const w = new PayloadWriter(64).u32(entries.length);
    for (const [type, data] of entries) w.u8(type).u8(0).u16(data.length).bytes(data).align4();
    return w.finish();
  });

  const lookup = (req: RmRequest, match: (vm: Vm) => boolean): Uint8Array => {
    const hits = [...rm.vms.all()].filter((vm) => rm.vms.queryAllowed(vm, req.client) && match(vm));
    const w = new PayloadWriter(4 + hits.length * 4).u32(hits.length);
    for (const vm of hits) w.u32(vm.vmid);
    return w.finish();
  };
  rpc.handle(RmMsg.VM_LOOKUP_URI, (req) => {
    const uri = paddedBytes(req.body, 79, RmErr.ARGUMENT_INVALID);
    return lookup(req, (vm) => vm.uri.length > 0 && bytesEqual(enc.encode(vm.uri), uri));
  });
  rpc.handle(RmMsg.VM_LOOKUP_NAME, (req) => {
    const name = paddedBytes(req.body, 79, RmErr.ARGUMENT_INVALID);
    return lookup(req, (vm) => bytesEqual(enc.encode(vm.name), name));
  });
  rpc.handle(RmMsg.VM_LOOKUP_GUID, (req) => {
    exactLength(req.body, 16);
    const guid = req.body.bytesOf(16);
    return lookup(req, (vm) => bytesEqual(vm.guid ?? new Uint8Array(16), guid));
  });

  rpc.handle(RmMsg.VM_GET_VMID, (req) => {
    exactLength(req.body, 0);
    return u32Reply(req.client);
  });
  rpc.handle(RmMsg.VM_GET_OWNER, (req) => {
    exactLength(req.body, 0);
    return u32Reply(rm.vm(req.client).owner);
  });
  rpc.handle(RmMsg.VM_GET_PEERS, (req) => {
    exactLength(req.body, 0);
    const peers = [...rm.vm(req.client).peers];
    const w = new PayloadWriter(4 + peers.length * 4).u32(peers.length);
    for (const p of peers) w.u32(p.vmid);
    return w.finish();
  });
}
