// What a bare-metal guest program needs without a kernel: its DT (at x0 on entry, as Linux gets it),
// facts from it (VMID, GIC frames, the RM link, devices), PSCI over HVC, and the vGIC.
import { parseFdt, readCells, type DeviceTree, type DtNode } from '../../../dt';
import { gicEnable, gicInit, Psci, smccc, type GicFrames, type GuestCpu, type GuestImage } from '../../../firmware/hypervisor';

/** The largest DT a guest reads (what the VMM's 64 KiB DT region can hold). */
const MAX_DTB = 64 * 1024;

export function readDtb(cpu: GuestCpu, addr: bigint): DeviceTree {
  const head = new Uint8Array(8);
  cpu.read(addr, head);
  const total = new DataView(head.buffer).getUint32(4);
  if (total < 40 || total > MAX_DTB) throw new Error(`DTB at 0x${addr.toString(16)}: bad totalsize ${total}`);
  const blob = new Uint8Array(total);
  cpu.read(addr, blob);
  return parseFdt(blob);
}

function regOf(node: DtNode, index = 0): { base: bigint; size: bigint } {
  const ac = node.parent?.u32('#address-cells') ?? 2;
  const sc = node.parent?.u32('#size-cells') ?? 2;
  const v = node.value('reg');
  if (!v) throw new Error(`${node.path} has no reg`);
  const at = index * (ac + sc);
  return { base: readCells(v, at, ac)!, size: readCells(v, at + ac, sc)! };
}

export interface RmLinkInfo {
  txCap: bigint;
  rxCap: bigint;
  /** INTIDs of the TX (not full) and RX (not empty) interrupts. */
  txIntid: number;
  rxIntid: number;
}

export interface BootInfo {
  tree: DeviceTree;
  vmid: number;
  gic: GicFrames;
  memory: { base: bigint; size: bigint };
  rm: RmLinkInfo | undefined;
  /** The first node compatible with `compat`. */
  find(compat: string): DtNode | undefined;
  reg(node: DtNode, index?: number): { base: bigint; size: bigint };
  /** INTID of interrupt `index` of `node` (<type irq flags> cells: SPI type 0). */
  intid(node: DtNode, index?: number): number;
}

function intidOf(node: DtNode, index = 0): number {
  const c = node.u32s('interrupts');
  if (!c || c.length < (index + 1) * 3) throw new Error(`${node.path} has no interrupt ${index}`);
  const [type, n] = [c[index * 3]!, c[index * 3 + 1]!];
  return type === 0 ? n + 32 : type === 1 ? n + 16 : type === 2 ? n + 4096 : n;
}

/** Read what a guest needs to know from the DT at `dtbAddr` (x0 at entry). */
export function bootInfo(cpu: GuestCpu, dtbAddr: bigint): BootInfo {
  const tree = readDtb(cpu, dtbAddr);
  const find = (compat: string) => [...tree.walk()].find((n) => n.strings('compatible')?.includes(compat));
  const vmNode = find('qcom,gunyah-vm-id');
  const vmid = vmNode?.u32('qcom,vmid') ?? 0;
  const gicNode = find('arm,gic-v3');
  if (!gicNode) throw new Error('no arm,gic-v3 node');
  const gicd = regOf(gicNode, 0);
  const gicr = regOf(gicNode, 1);
  const mem = tree.findNode('/memory');
  if (!mem) throw new Error('no /memory');
  const rmNode = find('gunyah-resource-manager');
  let rm: RmLinkInfo | undefined;
  if (rmNode) {
    const caps = rmNode.value('reg');
    if (!caps || caps.length !== 16) throw new Error(`${rmNode.path}: reg is not <tx cap>, <rx cap>`);
    rm = { txCap: readCells(caps, 0, 2)!, rxCap: readCells(caps, 2, 2)!, txIntid: intidOf(rmNode, 0), rxIntid: intidOf(rmNode, 1) };
  }
  return {
    tree,
    vmid,
    gic: { gicdBase: gicd.base, gicrBase: gicr.base, gicrStride: gicNode.u64('redistributor-stride') ?? 0x2_0000n },
    memory: regOf(mem),
    rm,
    find,
    reg: regOf,
    intid: intidOf,
  };
}

/** A PSCI call through HVC; x0 as a signed number. */
export async function psci(cpu: GuestCpu, fid: number, ...args: (bigint | number)[]): Promise<number> {
  const [x0] = await smccc(cpu, fid, ...args);
  return Number(BigInt.asIntN(32, x0!));
}

/** PSCI SYSTEM_OFF: the VM exits (never returns when it works). */
export async function systemOff(cpu: GuestCpu): Promise<never> {
  const r = await psci(cpu, Psci.SYSTEM_OFF);
  throw new Error(`PSCI SYSTEM_OFF returned ${r}`);
}

export async function cpuOn(cpu: GuestCpu, mpidr: bigint, entry: bigint, context: bigint): Promise<number> {
  return psci(cpu, Psci.CPU_ON_64, mpidr, entry, context);
}

/** Bring up the vGIC on this vCPU and take interrupts through `handler` (acknowledge and EOI done here). */
/**
 * Install an IRQ vector that acknowledges each interrupt and calls `handler`. The vector cannot
 * touch a device that lives outside the hypervisor (an MMIO exit needs the VMM, and a vector runs
 * to completion), so a handler of a level interrupt cannot clear its source there: it returns
 * `false` to leave the interrupt active, and the program ends it with `cpu.gicEndOfInterrupt`
 * once it has cleared the device (else EOI would re-pend the still-asserted level at once).
 */
export async function enableInterrupts(cpu: GuestCpu, gic: GicFrames, intids: readonly { intid: number; edge: boolean }[], handler: (intid: number) => boolean | void): Promise<void> {
  await gicInit(cpu, gic);
  for (const i of intids) await gicEnable(cpu, gic, i.intid, i.edge);
  cpu.setIrqVector(() => {
    for (;;) {
      const intid = cpu.gicAcknowledge();
      if (intid >= 1020) return;
      let end = true;
      try {
        end = handler(intid) !== false;
      } finally {
        if (end) cpu.gicEndOfInterrupt(intid);
      }
    }
  });
  cpu.setIrqMasked(false);
}

/** A scratch page after the image (its own RAM, below the DT the VMM puts at the top). */
export function scratchPage(image: GuestImage, n = 0): bigint {
  const end = (image.base + image.size + 0xfffn) & ~0xfffn;
  return end + 0x1000n * BigInt(n + 1);
}
