// Builds the DT overlay the RM applies to a secondary VM's DT at VM_START (spec §21; RM's
// create_dtbo, dto_construct.c): a real overlay tree, fragments with target-path, overlay-local
// phandles and __local_fixups__ for references between generated nodes, as `dtc -@` writes them.
import { DeviceTree, DtNode, encodeU32, encodeU64, concatBytes } from '../../../dt';

/** SPI / extended-SPI INTID to DT interrupt cells <type irq flags> (edge rising), dt_linux.h. */
export function interruptCells(virq: number): number[] {
  if (virq >= 4096 && virq < 5120) return [2, virq - 4096, 1];
  if (virq >= 32 && virq < 1020) return [0, virq - 32, 1];
  if (virq >= 16 && virq < 32) return [1, virq - 16, 1];
  throw new RangeError(`INTID ${virq} has no DT interrupt specifier`);
}

export interface OverlayQueuePair {
  kind: 'rm-rpc' | 'message-queue-pair';
  generate: string;
  pushCompatible: string[];
  label: number;
  txCap: bigint;
  rxCap: bigint;
  txVirq: number;
  rxVirq: number;
  txMsgSize: number;
  rxMsgSize: number;
  txDepth: number;
  rxDepth: number;
  /** qcom,vdevice-handle. */
  handle: number;
  peerVmid: number | undefined;
  peerId: string | undefined;
}
export interface OverlayQueue {
  kind: 'message-queue';
  generate: string;
  pushCompatible: string[];
  label: number;
  cap: bigint;
  virq: number;
  sender: boolean;
  msgSize: number;
  depth: number;
}
export interface OverlayDoorbell {
  kind: 'doorbell';
  generate: string;
  pushCompatible: string[];
  label: number;
  cap: bigint;
  source: boolean;
  virq: number | undefined;
}
export type OverlayVdevice = OverlayQueuePair | OverlayQueue | OverlayDoorbell;

export interface OverlayBuffer {
  ipa: bigint;
  size: bigint;
  handle: number;
  label: number;
  /** VMIDs sharing the buffer. */
  peers: number[];
}

export interface OverlayInput {
  vmid: number;
  ownerVmid: number;
  imageName: string;
  vmUri: string | undefined;
  vmGuid: Uint8Array | undefined;
  /** Distinct peer ids of message-queue pairs (`qcom,peers`). */
  peers: string[];
  rootAddressCells: number;
  rootSizeCells: number;
  /** Accepted private normal memory, IPA ranges (sorted and merged into /memory). */
  memory: { base: bigint; size: bigint }[];
  buffers: OverlayBuffer[];
  kaslrSeed: bigint;
  /** cpu node paths and the VM's own vCPU cap for CPUs powered on by hypercall. */
  cpuCaps: { path: string; cap: bigint }[];
  vdevices: OverlayVdevice[];
  /** What the base DT already has (decides between patching a node and creating it). */
  base: { hasChosen: boolean; hasReservedMemory: boolean; hasVsoc: boolean };
  /** The GIC node to fill in (when the base DT's node has no reg), or to create (no node at all). */
  gic:
    | { mode: 'keep' }
    | { mode: 'patch' | 'create'; path: string; gicdBase: bigint; gicrBase: bigint; gicrStride: bigint; vcpus: number; addrCells: number; sizeCells: number };
}

/** "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", lower case (dto_guid_to_string). */
export function guidToString(g: Uint8Array): string {
  const h = Array.from(g, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** Addresses and sizes as `cells` big-endian 32-bit cells each. */
function cellsOf(values: readonly bigint[], cells: readonly number[]): Uint8Array {
  const out: number[] = [];
  values.forEach((v, i) => {
    const n = cells[i % cells.length]!;
    for (let c = n - 1; c >= 0; c--) out.push(Number((v >> BigInt(32 * c)) & 0xffff_ffffn));
  });
  return encodeU32(out);
}

/** One fragment under construction: its overlay node, and fixups for its phandle references. */
class Fragment {
  readonly overlay: DtNode;
  constructor(
    readonly node: DtNode,
    readonly target: string,
  ) {
    node.setString('target-path', target);
    this.overlay = node.addChild('__overlay__');
  }
  /** The overlay node at `path` relative to the target (created as needed). */
  at(rel: string): DtNode {
    let n = this.overlay;
    for (const c of rel.split('/')) if (c) n = n.child(c) ?? n.addChild(c);
    return n;
  }
}

export class OverlayBuilder {
  readonly tree = new DeviceTree();
  private readonly fragments: Fragment[] = [];
  private nextPhandle = 1;
  /** Overlay-local references: fragment, node path inside __overlay__, property, byte offset. */
  private readonly fixups: { frag: number; rel: string; prop: string; offset: number }[] = [];

  fragment(target: string): Fragment {
    const f = new Fragment(this.tree.root.addChild(`fragment@${this.fragments.length}`), target);
    this.fragments.push(f);
    return f;
  }

  /** Give `node` an overlay-local phandle (fdtoverlay renumbers it above the base's phandles). */
  phandle(node: DtNode): number {
    const p = this.nextPhandle++;
    node.setU32('phandle', p);
    return p;
  }

  /** Set `prop` = <phandle> referencing an overlay-local node, recording the fixup. */
  reference(frag: Fragment, node: DtNode, prop: string, phandle: number): void {
    node.setU32(prop, phandle);
    const rel = this.relPath(frag, node);
    this.fixups.push({ frag: this.fragments.indexOf(frag), rel, prop, offset: 0 });
  }

  private relPath(frag: Fragment, node: DtNode): string {
    const parts: string[] = [];
    for (let n: DtNode | undefined = node; n && n !== frag.overlay; n = n.parent) parts.push(n.name);
    return parts.reverse().join('/');
  }

  finish(): DeviceTree {
    if (this.fixups.length > 0) {
      const lf = this.tree.root.addChild('__local_fixups__');
      for (const f of this.fixups) {
        let n = lf.ensureChild(`fragment@${f.frag}`).ensureChild('__overlay__');
        for (const c of f.rel.split('/')) if (c) n = n.ensureChild(c);
        const prev = n.value(f.prop);
        n.setProperty(f.prop, prev ? concatBytes([prev, encodeU32(f.offset)]) : encodeU32(f.offset));
      }
    }
    return this.tree;
  }
}

function compatible(node: DtNode, push: readonly string[], generic: readonly string[]): void {
  node.setStringList('compatible', [...push, ...generic]);
}

/** `<generate>@<cap in hex>` (vm_creation_node_name_capid: "%s@%lx"). */
function nodePath(generate: string, cap: bigint): string {
  return `${generate}@${cap.toString(16)}`;
}

/** Create the node at absolute `path` under the "/" fragment. */
function nodeAt(root: Fragment, path: string): DtNode {
  return root.at(path);
}

function addVdevice(root: Fragment, v: OverlayVdevice): void {
  if (v.kind === 'doorbell') {
    const n = nodeAt(root, nodePath(v.generate, v.cap));
    compatible(n, v.pushCompatible, [v.source ? 'qcom,gunyah-doorbell-source' : 'qcom,gunyah-doorbell', 'qcom,gunyah-capability']);
    n.setU64('reg', v.cap);
    if (!v.source && v.virq !== undefined) n.setU32('interrupts', interruptCells(v.virq));
    n.setU32('qcom,label', v.label);
    n.setU32('label', v.label);
    return;
  }
  if (v.kind !== 'message-queue') {
    const n = nodeAt(root, nodePath(v.generate, v.rxCap));
    compatible(n, v.pushCompatible, ['qcom,gunyah-message-queue', 'qcom,gunyah-capability']);
    n.setU64('reg', [v.txCap, v.rxCap]);
    n.setU32('interrupts', [...interruptCells(v.txVirq), ...interruptCells(v.rxVirq)]);
    if (v.peerVmid !== undefined) n.setU32('qcom,peer-vmid', v.peerVmid);
    n.setU32('qcom,free-irq-start', 0);
    n.setEmpty('qcom,is-full-duplex');
    n.setU32('qcom,tx-message-size', v.txMsgSize);
    n.setU32('qcom,rx-message-size', v.rxMsgSize);
    n.setU32('qcom,tx-queue-depth', v.txDepth);
    n.setU32('qcom,rx-queue-depth', v.rxDepth);
    n.setU32('qcom,vdevice-handle', v.handle);
    if (v.kind === 'message-queue-pair') {
      if (v.peerId !== undefined) n.setString('peer', v.peerId);
      n.setU32('qcom,label', v.label);
      n.setU32('label', v.label);
    }
    return;
  }
  const n = nodeAt(root, nodePath(v.generate, v.cap));
  compatible(n, v.pushCompatible, ['qcom,gunyah-message-queue', 'qcom,gunyah-capability']);
  n.setU64('reg', v.cap);
  n.setEmpty(v.sender ? 'is-sender' : 'is-receiver');
  n.setU32('tx_message_size', v.msgSize);
  n.setU32('tx_queue_depth', v.depth);
  n.setU32('interrupts', interruptCells(v.virq));
  n.setU32('qcom,label', v.label);
  n.setU32('label', v.label);
}

/** Sort by base and merge touching or overlapping ranges (create_memory_node). */
export function mergeRanges(ranges: readonly { base: bigint; size: bigint }[]): { base: bigint; size: bigint }[] {
  const sorted = [...ranges].sort((a, b) => (a.base < b.base ? -1 : a.base > b.base ? 1 : 0));
  const out: { base: bigint; size: bigint }[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && last.base + last.size >= r.base) {
      const end = r.base + r.size > last.base + last.size ? r.base + r.size : last.base + last.size;
      last.size = end - last.base;
    } else out.push({ ...r });
  }
  return out;
}

/** The overlay for a secondary VM, as a DeviceTree ready for toFdt. */
export function buildVmOverlay(input: OverlayInput): DeviceTree {
  const b = new OverlayBuilder();
  const cells = [input.rootAddressCells, input.rootSizeCells];

  // Existing /reserved-memory: new buffers are added to it.
  let resmem: DtNode;
  let resmemFrag: Fragment;
  const root = (() => {
    if (input.base.hasReservedMemory) {
      resmemFrag = b.fragment('/reserved-memory');
      resmem = resmemFrag.overlay;
    }
    let chosen: DtNode;
    if (input.base.hasChosen) chosen = b.fragment('/chosen').overlay;
    const r = b.fragment('/');
    if (!input.base.hasChosen) chosen = r.at('chosen');
    chosen!.setU64('kaslr-seed', input.kaslrSeed);
    return r;
  })();

  if (!input.base.hasReservedMemory) {
    resmemFrag = root;
    resmem = root.at('reserved-memory');
    resmem.setU32('#address-cells', input.rootAddressCells);
    resmem.setU32('#size-cells', input.rootSizeCells);
    resmem.setEmpty('ranges');
  }
  for (const buf of input.buffers) {
    const n = resmem!.addChild(`buffer@${buf.ipa.toString(16)}`);
    n.setProperty('reg', cellsOf([buf.ipa, buf.size], cells));
    n.setEmpty('qcom,shared-memory');
    n.setEmpty('no-map');
    n.setU32('peers', buf.peers);
    n.setU32('qcom,rm-mem-handle', buf.handle);
    b.phandle(n);
    n.setU32('qcom,label', buf.label);
  }

  const mem = root.at('memory');
  mem.setString('device_type', 'memory');
  const merged = mergeRanges(input.memory);
  mem.setProperty('reg', cellsOf(merged.flatMap((r) => [r.base, r.size]), cells));

  if (!input.base.hasVsoc) {
    const vsoc = root.at('vsoc');
    vsoc.setU32('#address-cells', 2);
    vsoc.setU32('#size-cells', 2);
    vsoc.setEmpty('ranges');
    vsoc.setString('compatible', 'simple-bus');
  }

  for (const c of input.cpuCaps) b.fragment(c.path).overlay.setU64('qcom,gunyah-capability', c.cap);

  const hyp = root.at('hypervisor');
  hyp.setU32('#address-cells', 2);
  hyp.setU32('#size-cells', 0);
  hyp.setStringList('compatible', ['gunyah-hypervisor', 'qcom,gunyah-hypervisor-1.0', 'qcom,gunyah-hypervisor', 'simple-bus']);
  const id = hyp.addChild('qcom,gunyah-vm');
  id.setStringList('compatible', ['qcom,gunyah-vm-id-1.0', 'qcom,gunyah-vm-id']);
  id.setU32('qcom,vmid', input.vmid);
  id.setU32('qcom,owner-vmid', input.ownerVmid);
  id.setString('qcom,vendor', 'Qualcomm');
  id.setString('qcom,image-name', input.imageName);
  if (input.vmUri) id.setString('qcom,vm-uri', input.vmUri);
  if (input.vmGuid) id.setString('qcom,vm-guid', guidToString(input.vmGuid));
  if (input.peers.length > 0) id.setStringList('qcom,peers', input.peers);

  for (const v of input.vdevices) addVdevice(root, v);

  const g = input.gic;
  if (g.mode !== 'keep') {
    let n: DtNode;
    if (g.mode === 'patch') n = b.fragment(g.path).overlay;
    else {
      n = root.at(`intc@${g.gicdBase.toString(16)}`);
      n.setU32('#interrupt-cells', 3);
      n.setEmpty('interrupt-controller');
      const ph = b.phandle(n);
      b.reference(root, root.overlay, 'interrupt-parent', ph);
    }
    n.setString('compatible', 'arm,gic-v3');
    n.setU32('#redistributor-regions', 1);
    n.setU64('redistributor-stride', g.gicrStride);
    n.setProperty('reg', cellsOf([g.gicdBase, 0x10000n, g.gicrBase, g.gicrStride * BigInt(g.vcpus)], [g.addrCells, g.sizeCells]));
  }
  return b.finish();
}
