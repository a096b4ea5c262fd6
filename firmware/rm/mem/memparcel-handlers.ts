// Wire decoding of the memparcel requests (spec §15, §16; memparcel_msg.h layouts) into the service.
import { RmMsg } from '../abi/message-ids';
import { RmErr, RmError } from '../abi/rm-error';
import type { ResourceManager } from '../resource-manager';
import type { PayloadReader } from '../wire/payload-reader';
import { PayloadWriter } from '../wire/payload-writer';
import { TransType } from './memparcel';

type Acl = { vmid: number; rights: number }[];
type Sgl = { ipa: bigint; size: bigint }[];
type Attrs = { attr: number; vmid: number }[];

function readAcl(body: PayloadReader): Acl {
  const { count, entries } = body.list(4, 'ACL');
  const out: Acl = [];
  for (let i = 0; i < count; i++) {
    const vmid = entries.u16();
    const rights = entries.u8();
    entries.u8();
    out.push({ vmid, rights });
  }
  return out;
}

function readSglEntries(count: number, entries: PayloadReader): Sgl {
  const out: Sgl = [];
  for (let i = 0; i < count; i++) out.push({ ipa: entries.u64(), size: entries.u64() });
  return out;
}

function readSgl(body: PayloadReader): Sgl {
  const { count, entries } = body.list(16, 'SGL');
  return readSglEntries(count, entries);
}

function readAttrs(body: PayloadReader): Attrs {
  const { count, entries } = body.list(4, 'attribute');
  const out: Attrs = [];
  for (let i = 0; i < count; i++) out.push({ attr: entries.u16(), vmid: entries.u16() });
  return out;
}

/** The lists must use the whole payload (memparcel_read_lists). */
function endOfLists(body: PayloadReader): void {
  if (body.remaining !== 0) throw new RmError(RmErr.MSG_INVALID, `${body.remaining} bytes after the lists`);
}

function handleReply(handle: number): Uint8Array {
  return new PayloadWriter(4).u32(handle).finish();
}

function minLength(body: PayloadReader, n: number): void {
  if (body.remaining < n) throw new RmError(RmErr.MSG_INVALID, `payload of ${body.remaining} bytes, at least ${n} needed`);
}

export function registerMemparcelHandlers(rm: ResourceManager): void {
  const mps = rm.memparcels;
  const create = (transType: number) => async (req: { client: number; body: PayloadReader }) => {
    // memparcel_create_req_t is 20 bytes with its three list headers.
    minLength(req.body, 8);
    const memType = req.body.u8('mem_type');
    req.body.u8();
    const flags = req.body.u8('flags');
    req.body.u8();
    const label = req.body.u32('label');
    const acl = readAcl(req.body);
    const sgl = readSgl(req.body);
    const attrs = readAttrs(req.body);
    endOfLists(req.body);
    return handleReply(await mps.create(req.client, { memType, transType, flags, label, acl, sgl, attrs }));
  };
  rm.rpc.handle(RmMsg.MEM_LEND, create(TransType.LEND));
  rm.rpc.handle(RmMsg.MEM_SHARE, create(TransType.SHARE));
  rm.rpc.handle(RmMsg.MEM_DONATE, create(TransType.DONATE));

  rm.rpc.handle(RmMsg.MEM_APPEND, async (req) => {
    minLength(req.body, 8);
    const handle = req.body.u32('handle');
    const flags = req.body.u8('flags');
    req.body.skip(3);
    const sgl = readSgl(req.body);
    endOfLists(req.body);
    await mps.append(req.client, handle, flags, sgl);
  });

  rm.rpc.handle(RmMsg.MEM_ACCEPT, async (req) => {
    // memparcel_accept_req_t: handle, mem_type, trans_type, flags, res, label, ACL, SGL (its second
    // header word is map_vmid), attributes.
    minLength(req.body, 12);
    const handle = req.body.u32('handle');
    const memType = req.body.u8('mem_type');
    const transType = req.body.u8('trans_type');
    const flags = req.body.u8('flags');
    req.body.u8();
    const label = req.body.u32('label');
    const acl = readAcl(req.body);
    const s = req.body.list(16, 'SGL');
    const sgl = readSglEntries(s.count, s.entries);
    const attrs = readAttrs(req.body);
    endOfLists(req.body);
    const r = await mps.accept(req.client, { handle, memType, transType, flags, label, acl, mapVmid: s.extra, sgl, attrs });
    if (!r) return undefined;
    const w = new PayloadWriter(4 + r.sgl.length * 16).u16(r.sgl.length).u8(r.incomplete ? 1 : 0).u8(0);
    for (const e of r.sgl) w.u64(e.ipa).u64(e.size);
    return w.finish();
  });

  const handleAndFlags = (body: PayloadReader) => {
    minLength(body, 8);
    const handle = body.u32('handle');
    const flags = body.u8('flags');
    return { handle, flags };
  };
  rm.rpc.handle(RmMsg.MEM_RELEASE, async (req) => {
    const { handle, flags } = handleAndFlags(req.body);
    await mps.release(req.client, handle, flags);
  });
  rm.rpc.handle(RmMsg.MEM_RECLAIM, async (req) => {
    const { handle, flags } = handleAndFlags(req.body);
    await mps.reclaim(req.client, handle, flags);
  });

  rm.rpc.handle(RmMsg.MEM_NOTIFY, async (req) => {
    minLength(req.body, 12);
    const handle = req.body.u32('handle');
    const flags = req.body.u8('flags');
    req.body.skip(3);
    const tag = req.body.u32('mem_info_tag');
    let vmids: number[] | undefined;
    if (req.body.remaining >= 4) {
      const count = req.body.u16('VMID count');
      req.body.u16();
      if (req.body.remaining < count * 4) throw new RmError(RmErr.MSG_INVALID, 'VMID list overruns the payload');
      vmids = [];
      for (let i = 0; i < count; i++) {
        vmids.push(req.body.u16());
        req.body.u16();
      }
    }
    await mps.notify(req.client, handle, flags, tag, vmids);
  });

  rm.rpc.handle(RmMsg.MEM_QCOM_LOOKUP_SGL, (req) => {
    // memparcel_lookup_req_t: u8 mem_type, 3 res, u32 label, ACL, SGL, optional attributes.
    minLength(req.body, 8);
    const memType = req.body.u8('mem_type');
    req.body.skip(3);
    const label = req.body.u32('label');
    const acl = readAcl(req.body);
    const sgl = readSgl(req.body);
    const attrs = readAttrs(req.body);
    endOfLists(req.body);
    return handleReply(mps.lookup(req.client, memType, label, acl, sgl, attrs));
  });
}
