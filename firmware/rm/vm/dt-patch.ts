// VM_START's DT patch (spec §21; RM's process_dtb): read the VM's DTB out of its memparcel, build the
// overlay from what the RM created, apply it as fdtoverlay would, and write the packed result back
// in place. A result larger than the DT region fails the start.
import { DtbError, applyOverlayFdt, parseFdt, toFdt, type DeviceTree } from '../../../dt';
import { RmErr, RmError } from '../abi/rm-error';
import { buildVmOverlay, type OverlayInput, type OverlayVdevice } from '../config/overlay-builder';
import { isPrivate, MemType } from '../mem/memparcel';
import type { ResourceManager } from '../resource-manager';
import type { Vm } from './vm';

const FDT_MAGIC = 0xd00dfeed;
/** The header fields map_dtb checks before trusting the blob: magic and a totalsize within the region. */
export function checkDtbHeader(head: Uint8Array, regionSize: bigint): number {
  if (head.length < 40) throw new RmError(RmErr.MEM_INVALID, 'DT region smaller than an FDT header');
  const v = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (v.getUint32(0) !== FDT_MAGIC) throw new RmError(RmErr.MEM_INVALID, 'DT region holds no FDT (bad magic)');
  const total = v.getUint32(4);
  if (BigInt(total) > regionSize || total < 40) throw new RmError(RmErr.MEM_INVALID, `FDT totalsize ${total} exceeds the DT region of ${regionSize} bytes`);
  return total;
}

/** Read and parse the VM's DTB from its image memparcel. */
export async function readVmDtb(rm: ResourceManager, vm: Vm): Promise<{ bytes: Uint8Array; tree: DeviceTree }> {
  const img = vm.image!;
  const head = await rm.memparcels.access(img.handle, img.dtOffset, Number(img.dtSize < 40n ? img.dtSize : 40n));
  const total = checkDtbHeader(head, img.dtSize);
  const bytes = await rm.memparcels.access(img.handle, img.dtOffset, total);
  try {
    return { bytes, tree: parseFdt(bytes, { copy: false }) };
  } catch (e) {
    if (e instanceof DtbError) throw new RmError(RmErr.MEM_INVALID, `malformed DTB: ${e.message}`);
    throw e;
  }
}

/** What the overlay says about this VM, from the RM's records. */
export async function overlayInputFor(rm: ResourceManager, vm: Vm, base: DeviceTree): Promise<OverlayInput> {
  const cfg = vm.config!;
  const o = vm.objects!;
  const memory: { base: bigint; size: bigint }[] = [];
  const buffers: OverlayInput['buffers'] = [];
  for (const mp of rm.memparcels.forTarget(vm.vmid)) {
    const info = mp.acl.find((a) => a.vmid === vm.vmid)!;
    if (!info.mapped || mp.memType !== MemType.NORMAL) continue;
    if (vm.firmware && mp.handle === vm.firmware.handle && mp.handle !== vm.image?.handle) continue;
    const ranges = info.contiguous ? [{ base: info.ipas[0]!, size: mp.totalSize }] : mp.regions.map((r, i) => ({ base: info.ipas[i]!, size: r.size }));
    // The image parcel is the VM's RAM whether lent or shared: the v14 VMM shares it
    // (GH_VM_SET_USER_MEM_REGION) so that it can emulate DMA-capable devices such as virtio.
    if (isPrivate(mp, vm.vmid) || mp.handle === vm.image?.handle) memory.push(...ranges);
    else buffers.push({ ipa: ranges[0]!.base, size: mp.totalSize, handle: mp.handle, label: mp.label, peers: mp.acl.filter((a) => a.shared || a.vmid === mp.owner).map((a) => a.vmid) });
  }
  const vdevices: OverlayVdevice[] = [];
  const peers: string[] = [];
  for (const d of o.vdevs) {
    if (d.kind === 'rm-rpc' || d.kind === 'message-queue-pair') {
      vdevices.push({
        kind: d.kind,
        generate: d.generate,
        pushCompatible: d.kind === 'rm-rpc' ? [...d.pushCompatible, 'gunyah-resource-manager', 'qcom,resource-manager', 'qcom,resource-manager-1-0'] : d.pushCompatible,
        label: d.label,
        txCap: d.self.txCap!,
        rxCap: d.self.rxCap!,
        txVirq: d.self.txVirq!,
        rxVirq: d.self.rxVirq!,
        txMsgSize: d.msgSize,
        rxMsgSize: d.msgSize,
        txDepth: d.depth,
        rxDepth: d.depth,
        handle: d.handle,
        peerVmid: d.kind === 'message-queue-pair' ? d.peer.vmid : undefined,
        peerId: d.peerId,
      });
      if (d.peerId && !peers.includes(d.peerId)) peers.push(d.peerId);
    } else if (d.kind === 'message-queue') {
      vdevices.push({ kind: 'message-queue', generate: d.generate, pushCompatible: d.pushCompatible, label: d.label, cap: d.self.cap!, virq: d.self.virq!, sender: d.source, msgSize: d.msgSize, depth: d.depth });
    } else {
      vdevices.push({ kind: 'doorbell', generate: d.generate, pushCompatible: d.pushCompatible, label: d.label, cap: d.self.cap!, source: d.source, virq: d.self.virq });
    }
  }
  const g = o.gic!;
  let gic: OverlayInput['gic'] = { mode: 'keep' };
  if (!cfg.gic) {
    gic = { mode: 'create', path: '/', gicdBase: g.gicdBase, gicrBase: g.gicrBase, gicrStride: g.gicrStride, vcpus: o.vcpus.length, addrCells: cfg.rootAddressCells, sizeCells: cfg.rootSizeCells };
  } else if (cfg.gic.gicdBase === undefined) {
    gic = { mode: 'patch', path: cfg.gic.path, gicdBase: g.gicdBase, gicrBase: g.gicrBase, gicrStride: g.gicrStride, vcpus: o.vcpus.length, addrCells: cfg.gic.addrCells, sizeCells: cfg.gic.sizeCells };
  }
  const seed = await rm.entropy(8);
  return {
    vmid: vm.vmid,
    ownerVmid: vm.owner,
    imageName: vm.name,
    vmUri: vm.uri || undefined,
    vmGuid: vm.guid,
    peers,
    rootAddressCells: cfg.rootAddressCells,
    rootSizeCells: cfg.rootSizeCells,
    memory,
    buffers,
    kaslrSeed: new DataView(seed.buffer, seed.byteOffset).getBigUint64(0, true),
    cpuCaps: o.vcpus.filter((v) => v.vmCap !== undefined && v.cpuPath).map((v) => ({ path: v.cpuPath!, cap: v.vmCap! })),
    vdevices,
    base: { hasChosen: base.findNode('/chosen') !== undefined, hasReservedMemory: base.findNode('/reserved-memory') !== undefined, hasVsoc: base.findNode('/vsoc') !== undefined },
    gic,
  };
}

/** Apply the overlay to the VM's DTB in its memory. */
export async function patchVmDtb(rm: ResourceManager, vm: Vm): Promise<Uint8Array> {
  const { bytes, tree } = await readVmDtb(rm, vm);
  const overlay = buildVmOverlay(await overlayInputFor(rm, vm, tree));
  let out: Uint8Array;
  try {
    out = applyOverlayFdt(bytes, [toFdt(overlay)]);
  } catch (e) {
    if (e instanceof DtbError) throw new RmError(RmErr.DENIED, `overlay does not apply: ${e.message}`);
    throw e;
  }
  const img = vm.image!;
  if (BigInt(out.length) > img.dtSize) throw new RmError(RmErr.NORESOURCE, `patched DTB of ${out.length} bytes does not fit the DT region of ${img.dtSize}`);
  await rm.memparcels.access(img.handle, img.dtOffset, out.length, out);
  return out;
}
