// A VM description (ARCHITECTURE.md "Board and VM descriptions", bindings/schemas/gunyah-ts/vm.yaml):
// a node with compatible "gunyah-ts,vm", the root of a file of its own or a child of a board's /vms.
// Checked against its binding (when the schemas are loaded) and then read into what the VMM needs.
import { readCells, type DeviceTree, type DtNode } from '../../dt';
import type { BindingSet } from '../../bindings';

export type ConsoleKind = 'rm' | 'pl011' | 'virtio';
export type Placement = 'native' | 'vmm' | 'stub';

export interface DeviceDescription {
  /** The node name (e.g. serial@9000000) and its source node (copied into the guest DT). */
  name: string;
  node: DtNode;
  compatible: string[];
  base: bigint;
  size: bigint;
  placement: Placement;
  /** Placement "native": the app image to load ("builtin:<name>" or a path), when not the default. */
  nativeApp: string | undefined;
}

/** Device properties that instruct the VMM and never reach the guest's DT. */
export const HOST_ONLY_DEVICE_PROPS: ReadonlySet<string> = new Set(['placement', 'native-app', 'virtio-device-type']);

export interface VmDescription {
  name: string;
  image: string;
  memorySize: bigint;
  memoryBase: bigint;
  vcpus: number;
  console: ConsoleKind;
  bootargs: string | undefined;
  /** Signed offset to the owner's priority. */
  priority: number;
  timesliceUs: number | undefined;
  devices: DeviceDescription[];
}

export class VmDescriptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VmDescriptionError';
  }
}

export const DEFAULT_MEMORY_BASE = 0x8000_0000n;
/** Device MMIO must lie below 1 GiB: the RM's default VMMIO range (spec §18). */
export const VMMIO_LIMIT = 0x4000_0000n;
/** vCPUs per VM (PLATFORM_MAX_CORES). */
export const MAX_VCPUS = 8;
/** Guest RAM a description may ask for (what one anonymous mapping of the primary can be). */
export const MAX_MEMORY = 1n << 30n;

function u64Prop(node: DtNode, name: string): bigint | undefined {
  const v = node.value(name);
  if (!v) return undefined;
  if (v.length === 4) return BigInt(node.u32(name)!);
  if (v.length === 8) return node.u64(name)!;
  throw new VmDescriptionError(`${node.path}: ${name} must be one or two cells`);
}

/**
 * A description built in code: `name`, `image` and `memorySize` given, everything else as a DTS
 * description that leaves it out gets it (RAM at DEFAULT_MEMORY_BASE, one vCPU, the RM console,
 * priority one below the owner's, no devices).
 */
export function vmDescription(o: Pick<VmDescription, 'name' | 'image' | 'memorySize'> & Partial<VmDescription>): VmDescription {
  return { memoryBase: DEFAULT_MEMORY_BASE, vcpus: 1, console: 'rm', bootargs: undefined, priority: -1, timesliceUs: undefined, devices: [], ...o };
}

/** Read a VM description node; `bindings` (optional) checks it against its schema first. */
export function parseVmDescription(tree: DeviceTree, node: DtNode, bindings?: BindingSet): VmDescription {
  const where = node.path;
  if (!node.strings('compatible')?.includes('gunyah-ts,vm')) throw new VmDescriptionError(`${where}: compatible is not "gunyah-ts,vm"`);
  if (bindings) {
    const problems = bindings.validateNode(tree, node);
    for (const c of node.children) problems.push(...bindings.validateNode(tree, c));
    if (problems.length > 0) throw new VmDescriptionError(`${problems[0]!.path}: ${problems[0]!.property ? `${problems[0]!.property}: ` : ''}${problems[0]!.message}`);
  }
  const image = node.string('image');
  if (!image) throw new VmDescriptionError(`${where}: image is required`);
  const memorySize = u64Prop(node, 'memory-size');
  if (memorySize === undefined) throw new VmDescriptionError(`${where}: memory-size is required`);
  if (memorySize < 0x1000n || memorySize % 0x1000n !== 0n || memorySize > MAX_MEMORY) {
    throw new VmDescriptionError(`${where}: memory-size 0x${memorySize.toString(16)} must be a multiple of 4 KiB up to 0x${MAX_MEMORY.toString(16)}`);
  }
  const memoryBase = u64Prop(node, 'memory-base') ?? DEFAULT_MEMORY_BASE;
  if (memoryBase % 0x1000n !== 0n) throw new VmDescriptionError(`${where}: memory-base is not 4 KiB aligned`);
  if (memoryBase < VMMIO_LIMIT) throw new VmDescriptionError(`${where}: memory-base 0x${memoryBase.toString(16)} is inside the device window (below 1 GiB)`);
  const vcpus = node.u32('vcpus') ?? 1;
  if (vcpus < 1 || vcpus > MAX_VCPUS) throw new VmDescriptionError(`${where}: vcpus ${vcpus} (1..${MAX_VCPUS})`);
  const console = (node.string('console') ?? 'rm') as ConsoleKind;
  if (!['rm', 'pl011', 'virtio'].includes(console)) throw new VmDescriptionError(`${where}: console ${JSON.stringify(console)} is not rm, pl011 or virtio`);
  const prio = node.u32('priority');
  const priority = prio === undefined ? -1 : prio | 0;
  const timesliceUs = node.u32('timeslice-us');
  const ac = node.u32('#address-cells') ?? 2;
  const sc = node.u32('#size-cells') ?? 2;
  const devices: DeviceDescription[] = [];
  for (const c of node.children) {
    const compatible = c.strings('compatible');
    const reg = c.value('reg');
    if (!compatible || !reg || reg.length !== (ac + sc) * 4) throw new VmDescriptionError(`${c.path}: a device needs compatible and one reg entry of ${ac}+${sc} cells`);
    const base = readCells(reg, 0, ac)!;
    const size = readCells(reg, ac, sc)!;
    if (size === 0n || base + size > VMMIO_LIMIT) throw new VmDescriptionError(`${c.path}: reg 0x${base.toString(16)}+0x${size.toString(16)} must lie below 1 GiB`);
    const placement = (c.string('placement') ?? 'vmm') as Placement;
    if (!['native', 'vmm', 'stub'].includes(placement)) throw new VmDescriptionError(`${c.path}: placement ${JSON.stringify(placement)}`);
    const nativeApp = c.string('native-app');
    if (nativeApp !== undefined && placement !== 'native') throw new VmDescriptionError(`${c.path}: native-app is for placement "native" (this device's is "${placement}")`);
    devices.push({ name: c.name, node: c, compatible, base, size, placement, nativeApp });
  }
  const sorted = [...devices].sort((a, b) => (a.base < b.base ? -1 : 1));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i - 1]!.base + sorted[i - 1]!.size > sorted[i]!.base) throw new VmDescriptionError(`${sorted[i]!.node.path} overlaps ${sorted[i - 1]!.node.path}`);
  }
  const name = node === tree.root ? (node.string('model') ?? 'vm') : node.name;
  return { name, image, memorySize, memoryBase, vcpus, console, bootargs: node.string('bootargs'), priority, timesliceUs, devices };
}

/** The VM descriptions of a file: its root when that is one, else every "gunyah-ts,vm" under /vms. */
export function findVmDescriptions(tree: DeviceTree): DtNode[] {
  if (tree.root.strings('compatible')?.includes('gunyah-ts,vm')) return [tree.root];
  return (tree.root.child('vms')?.children ?? []).filter((n) => n.strings('compatible')?.includes('gunyah-ts,vm'));
}
