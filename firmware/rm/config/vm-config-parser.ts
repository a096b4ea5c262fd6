// Reads a VM's `vm-config` from its device tree (spec §20; RM's vm_config_parser.c): vm attributes,
// memory, vCPUs and the vdevices to create. Every property is checked for shape; anything the RM
// would refuse is a VmConfigError naming the node and the reason.
import type { DeviceTree, DtNode } from '../../../dt';
import type { CpuConfig, EnableMethod, GicConfig, IrqSpec, PeerRef, VcpuAffinity, VdeviceConfig, VmConfig } from './vm-config';

/** How a bad config is answered: MEM_INVALID for an unparsable config, DENIED for a forbidden one. */
export type VmConfigFault = 'invalid' | 'denied';

export class VmConfigError extends Error {
  constructor(
    readonly fault: VmConfigFault,
    message: string,
  ) {
    super(message);
    this.name = 'VmConfigError';
  }
}

/** Defaults of an rm-rpc / message-queue vdevice (DEFAULT_MSG_QUEUE_SIZE / _DEPTH). */
export const DEFAULT_MSG_SIZE = 240;
export const DEFAULT_QUEUE_DEPTH = 8;
/** msgqueue limits the hypervisor enforces at configure: depth < 256, size < 1024 (spec §7). */
const MAX_QUEUE_DEPTH = 255;
const MAX_MSG_SIZE = 1023;
/** At most this many push-compatibles per vdevice (VDEVICE_MAX_PUSH_COMPATIBLES). */
export const MAX_PUSH_COMPATIBLES = 6;
/** Names and URIs are at most 79 bytes (VM_MAX_NAME_LEN / VM_MAX_URI_LEN include the NUL). */
export const MAX_NAME_LEN = 79;
/** vCPUs per VM: at most the platform's cores (PLATFORM_MAX_CORES = 8 on QEMU). */
export const MAX_VCPUS = 8;

const VM_ATTRS = new Set([
  'ras-error-handler',
  'amu-counting-disabled',
  'crash-fatal',
  'context-dump',
  'no-shutdown',
  'no-reset',
  'guest-ram-dump',
  'insecure-console',
]);

function bad(node: DtNode, what: string): never {
  throw new VmConfigError('invalid', `${node.path}: ${what}`);
}

function u32Prop(node: DtNode, name: string): number | undefined {
  const v = node.value(name);
  if (!v) return undefined;
  if (v.length !== 4) bad(node, `${name} must be one cell`);
  return node.u32(name)!;
}

/** A 32- or 64-bit number property (one or two cells). */
function numProp(node: DtNode, name: string): bigint | undefined {
  const v = node.value(name);
  if (!v) return undefined;
  if (v.length === 4) return BigInt(node.u32(name)!);
  if (v.length === 8) return node.u64(name)!;
  return bad(node, `${name} must be one or two cells`);
}

function stringProp(node: DtNode, name: string, max = Infinity): string | undefined {
  const v = node.value(name);
  if (!v) return undefined;
  const s = node.strings(name)?.[0];
  if (s === undefined) bad(node, `${name} is not a string`);
  if (Buffer.byteLength(s) > max) bad(node, `${name} longer than ${max} bytes`);
  return s;
}

function cellsOf(node: DtNode | undefined, name: '#address-cells' | '#size-cells', dflt: number): number {
  const v = node?.u32(name);
  return v === undefined ? dflt : v;
}

/** `interrupts` = <type irq flags>...: SPI (type 0, irq + 32) or extended SPI (type 2, irq + 4096). */
export function parseInterrupts(node: DtNode, count: number): IrqSpec[] | undefined {
  const cells = node.u32s('interrupts');
  if (!node.has('interrupts')) return undefined;
  if (!cells || cells.length !== count * 3) bad(node, `interrupts must hold ${count} <type irq flags> triple(s)`);
  const out: IrqSpec[] = [];
  for (let i = 0; i < count; i++) {
    const [type, irq, flags] = [cells[i * 3]!, cells[i * 3 + 1]!, cells[i * 3 + 2]!];
    let virq: number;
    if (type === 0 && irq < 988) virq = irq + 32;
    else if (type === 2 && irq < 1024) virq = irq + 4096;
    else bad(node, `interrupt ${i} (type ${type}, ${irq}) is not an SPI or extended SPI`);
    if (flags !== 1 && flags !== 4) bad(node, `interrupt ${i} flags ${flags} are neither edge rising (1) nor level high (4)`);
    out.push({ virq, edge: flags === 1 });
  }
  return out;
}

function parsePeer(node: DtNode, required: boolean): PeerRef {
  if (node.has('peer-default')) return { kind: 'default' };
  const id = stringProp(node, 'peer');
  if (id !== undefined) {
    if (!/^vm-(name|uri|guid):./.test(id)) bad(node, `peer ${JSON.stringify(id)} is not vm-name:, vm-uri: or vm-guid:`);
    return { kind: 'id', id };
  }
  if (required) bad(node, 'needs peer-default or peer');
  return { kind: 'default' };
}

function parseGuid(node: DtNode, text: string): Uint8Array {
  const hex = text.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex) || !/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(text)) {
    bad(node, `vm-guid ${JSON.stringify(text)} is not xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`);
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function common(node: DtNode, defaultGenerate: string | undefined) {
  const generate = stringProp(node, 'generate') ?? defaultGenerate;
  if (generate === undefined || !generate.startsWith('/') || generate.length < 2) bad(node, 'needs an absolute `generate` path');
  const push = node.has('push-compatible') ? node.strings('push-compatible') : [];
  if (!push) bad(node, 'push-compatible is not a string list');
  if (push.length > MAX_PUSH_COMPATIBLES) throw new VmConfigError('denied', `${node.path}: more than ${MAX_PUSH_COMPATIBLES} push-compatibles`);
  const label = u32Prop(node, 'qcom,label') ?? u32Prop(node, 'label') ?? 0;
  return { generate, pushCompatible: push, label, configPath: node.path };
}

function queueParams(node: DtNode): { msgSize: number; depth: number } {
  const msgSize = u32Prop(node, 'message-size') ?? DEFAULT_MSG_SIZE;
  const depth = u32Prop(node, 'queue-depth') ?? DEFAULT_QUEUE_DEPTH;
  if (msgSize < 1 || msgSize > MAX_MSG_SIZE) bad(node, `message-size ${msgSize} outside 1..${MAX_MSG_SIZE}`);
  if (depth < 1 || depth > MAX_QUEUE_DEPTH) bad(node, `queue-depth ${depth} outside 1..${MAX_QUEUE_DEPTH}`);
  return { msgSize, depth };
}

function parseVdevice(node: DtNode, type: string): VdeviceConfig {
  switch (type) {
    case 'rm-rpc': {
      const { msgSize, depth } = queueParams(node);
      return { type: 'rm-rpc', ...common(node, '/hypervisor/qcom,resource-mgr'), consoleDev: node.has('console-dev'), msgSize, depth };
    }
    case 'doorbell':
    case 'doorbell-source': {
      const source = type === 'doorbell-source';
      const irq = source ? undefined : parseInterrupts(node, 1)?.[0];
      return { type: 'doorbell', ...common(node, undefined), source, peer: parsePeer(node, true), sourceCanClear: node.has('source-can-clear'), irq };
    }
    case 'message-queue': {
      const sender = node.has('is-sender');
      if (sender === node.has('is-receiver')) bad(node, 'needs exactly one of is-sender and is-receiver');
      if (!node.has('peer-default')) bad(node, 'a message-queue must use peer-default');
      const { msgSize, depth } = queueParams(node);
      return { type: 'message-queue', ...common(node, undefined), sender, peer: { kind: 'default' }, msgSize, depth, irq: parseInterrupts(node, 1)?.[0] };
    }
    case 'message-queue-pair': {
      const { msgSize, depth } = queueParams(node);
      const irqs = parseInterrupts(node, 2);
      return { type: 'message-queue-pair', ...common(node, undefined), peer: parsePeer(node, true), msgSize, depth, irqs: irqs ? [irqs[0]!, irqs[1]!] : undefined };
    }
    case 'shm':
    case 'shm-doorbell': {
      const mem = node.child('memory');
      const memBase = mem ? numProp(mem, 'base') : undefined;
      return {
        type: 'shm',
        ...common(node, undefined),
        doorbells: type === 'shm-doorbell',
        peer: parsePeer(node, false),
        optional: mem?.has('optional') ?? false,
        dmaBase: numProp(node, 'dma_base'),
        memBase,
      };
    }
    default:
      // virtio-mmio, iomem, vsmmu-v2, vrtc-pl031 need hypervisor objects this build does not have
      // (the QEMU featureset: no virtio_mmio, no SMMU, no vRTC): refused, not ignored.
      return bad(node, `vdevice-type ${JSON.stringify(type)} is not supported on this platform`);
  }
}

function parseCpus(tree: DeviceTree, vcpus: DtNode): { cpus: CpuConfig[]; psci: boolean } {
  const configPath = stringProp(vcpus, 'config') ?? '/cpus';
  const cpusNode = tree.findNode(configPath);
  if (!cpusNode) bad(vcpus, `config path ${configPath} does not exist`);
  const defaultMethod = stringProp(cpusNode, 'enable-method');
  const cpus: CpuConfig[] = [];
  let enabled = 0;
  let psci = false;
  for (const c of cpusNode.children) {
    if (c.string('device_type') !== 'cpu') continue;
    const status = stringProp(c, 'status');
    let boot: boolean;
    if (status === undefined) boot = enabled === 0;
    else if (status === 'okay') boot = true;
    else if (status === 'disabled') boot = false;
    else if (status === 'fail' || status.startsWith('fail-')) continue;
    else bad(c, `unexpected status ${JSON.stringify(status)}`);
    const method = stringProp(c, 'enable-method') ?? defaultMethod;
    const hasIdleStates = c.has('cpu-idle-states');
    if (hasIdleStates) psci = true;
    let enableMethod: EnableMethod | undefined;
    if (method === 'psci' || method === 'qcom,gunyah-hvc') enableMethod = method;
    else if (method !== undefined) bad(c, `unknown enable-method ${JSON.stringify(method)}`);
    if (boot) enabled++;
    else if (!enableMethod) bad(c, 'a secondary vCPU must set enable-method');
    if (enableMethod === 'psci') psci = true;
    cpus.push({ path: c.path, boot, enableMethod, hasIdleStates });
  }
  if (cpus.length === 0) bad(cpusNode, 'no cpu nodes');
  if (cpus.length > MAX_VCPUS) bad(cpusNode, `${cpus.length} vCPUs (at most ${MAX_VCPUS})`);
  if (enabled === 0) bad(cpusNode, 'no vCPU is enabled at boot');
  return { cpus, psci };
}

function parseGic(tree: DeviceTree): GicConfig | undefined {
  for (const n of tree.walk()) {
    if (!n.strings('compatible')?.includes('arm,gic-v3')) continue;
    const ac = cellsOf(n.parent, '#address-cells', 2);
    const sc = cellsOf(n.parent, '#size-cells', 1);
    const reg = n.u32s('reg');
    let gicdBase: bigint | undefined;
    let gicrBase: bigint | undefined;
    if (reg && reg.length >= 2 * (ac + sc) && ac <= 2 && sc <= 2) {
      const cell = (at: number, count: number) => {
        let v = 0n;
        for (let i = 0; i < count; i++) v = (v << 32n) | BigInt(reg[at + i]!);
        return v;
      };
      gicdBase = cell(0, ac);
      gicrBase = cell(ac + sc, ac);
    } else if (reg) bad(n, 'reg does not hold GICD and GICR ranges');
    return { path: n.path, phandle: n.phandle, gicdBase, gicrBase, gicrStride: numProp(n, 'redistributor-stride'), addrCells: ac, sizeCells: sc };
  }
  return undefined;
}

/** Parse the VM's DT. Throws VmConfigError. */
export function parseVmConfig(tree: DeviceTree): VmConfig {
  const root = tree.root;
  // The RM generates /hypervisor itself; a base DT that already has one is refused (spec §21).
  if (root.child('hypervisor')) throw new VmConfigError('denied', '/hypervisor already exists in the base DT');
  // Memory nodes first, so one cannot be disguised: only /memory (replaced by the overlay) may exist.
  for (const n of tree.walk()) {
    if (n.string('device_type') === 'memory' && !(n.name === 'memory' && n.parent === root)) {
      bad(n, 'the only memory node allowed is /memory (the RM writes it)');
    }
  }
  const cfg = root.children.find((c) => c.name === 'qcom,vm-config' || c.name === 'gunyah-vm-config');
  if (!cfg) throw new VmConfigError('invalid', 'no /qcom,vm-config or /gunyah-vm-config node');

  const attrList = cfg.has('vm-attrs') ? cfg.strings('vm-attrs') : [];
  if (!attrList) bad(cfg, 'vm-attrs is not a string list');
  for (const a of attrList) if (!VM_ATTRS.has(a)) bad(cfg, `unknown vm-attr ${JSON.stringify(a)}`);
  const vmType = stringProp(cfg, 'vm-type') ?? 'aarch64-guest';
  if (vmType !== 'aarch64-guest') bad(cfg, `vm-type ${JSON.stringify(vmType)} is not aarch64-guest`);
  const guidText = stringProp(cfg, 'vm-guid');

  const memNode = cfg.child('memory');
  const memory = {
    base: memNode ? numProp(memNode, 'base-address') : undefined,
    sizeMin: memNode ? numProp(memNode, 'size-min') : undefined,
    sizeMax: memNode ? numProp(memNode, 'size-max') : undefined,
    isDirect: memNode?.has('is-direct') ?? false,
    firmwareAddress: memNode ? numProp(memNode, 'firmware-address') : undefined,
  };
  if (memory.base !== undefined && memory.base % 4096n !== 0n) bad(memNode!, 'base-address is not page aligned');

  const vcpusNode = cfg.child('vcpus');
  if (!vcpusNode) bad(cfg, 'no vcpus node');
  const affinityText = stringProp(vcpusNode, 'affinity') ?? 'static';
  if (!['static', 'sticky', 'pinned', 'proxy'].includes(affinityText)) bad(vcpusNode, `unsupported affinity ${JSON.stringify(affinityText)}`);
  const affinity = affinityText as VcpuAffinity;
  const { cpus, psci } = parseCpus(tree, vcpusNode);
  let timesliceUs: number | undefined;
  let priorityOffset = 0;
  let affinityMap: number[] = [];
  if (affinity !== 'proxy') {
    timesliceUs = u32Prop(vcpusNode, 'sched-timeslice');
    const p = u32Prop(vcpusNode, 'sched-priority');
    priorityOffset = p === undefined ? 0 : p | 0;
    const map = vcpusNode.u32s('affinity-map');
    if (!map) bad(vcpusNode, 'affinity-map is missing');
    if (map.length < cpus.length) bad(vcpusNode, `affinity-map has ${map.length} entries for ${cpus.length} vCPUs`);
    affinityMap = map;
  }

  const vdevices: VdeviceConfig[] = [];
  for (const n of cfg.walk()) {
    if (n === cfg || !n.has('vdevice-type')) continue;
    const type = stringProp(n, 'vdevice-type')!;
    vdevices.push(parseVdevice(n, type));
  }
  if (vdevices.filter((v) => v.type === 'rm-rpc').length > 1) bad(cfg, 'more than one rm-rpc vdevice');

  return {
    vmType,
    osType: stringProp(cfg, 'os-type') ?? 'linux',
    attrs: new Set(attrList),
    kernelEntryOffset: numProp(cfg, 'kernel-entry-offset'),
    vendor: stringProp(cfg, 'vendor'),
    imageName: stringProp(cfg, 'image-name', MAX_NAME_LEN),
    uri: stringProp(cfg, 'vm-uri', MAX_NAME_LEN),
    guid: guidText === undefined ? undefined : parseGuid(cfg, guidText),
    sensitive: cfg.has('qcom,sensitive'),
    memory,
    vcpus: { affinity, timesliceUs, priorityOffset, affinityMap, cpus },
    vdevices,
    gic: parseGic(tree),
    psci,
    rootAddressCells: cellsOf(root, '#address-cells', 2),
    rootSizeCells: cellsOf(root, '#size-cells', 1),
  };
}
