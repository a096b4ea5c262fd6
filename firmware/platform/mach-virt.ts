// Nodes every mach-virt style DT here carries, in QEMU's property order (hw/arm/virt.c:
// fdt_add_psci_node, create_gic, fdt_add_timer_nodes): the primary VM's boot DT and the base DT a VMM
// hands the RM for a secondary VM.
import type { DtNode } from '../../dt';

/** PSCI 0.2+ function IDs QEMU lists in its node (SMC64 variants where they exist). */
const PSCI_FN = { CPU_SUSPEND: 0xc4000001, CPU_OFF: 0x84000002, CPU_ON: 0xc4000003, MIGRATE: 0xc4000005 } as const;
/** GIC PPI numbers of the architected timer (secure, non-secure, virtual, hypervisor). */
const TIMER_PPIS = [13, 14, 11, 10] as const;
const GIC_FDT_IRQ_TYPE_PPI = 1;
const IRQ_TYPE_LEVEL_HIGH = 4;
/** GICD frame size (GICv3). */
const GICD_SIZE = 0x1_0000n;

/** `/psci`: PSCI 1.0 over HVC. */
export function addPsciNode(root: DtNode): DtNode {
  const psci = root.addChild('psci');
  psci.setU32('migrate', PSCI_FN.MIGRATE);
  psci.setU32('cpu_on', PSCI_FN.CPU_ON);
  psci.setU32('cpu_off', PSCI_FN.CPU_OFF);
  psci.setU32('cpu_suspend', PSCI_FN.CPU_SUSPEND);
  psci.setString('method', 'hvc');
  psci.setStringList('compatible', ['arm,psci-1.0', 'arm,psci-0.2', 'arm,psci']);
  return psci;
}

export interface GicV3Layout {
  gicdBase: bigint;
  gicrBase: bigint;
  gicrStride: bigint;
  /** One redistributor per CPU, in one region. */
  cpus: number;
  phandle: number;
}

/** `/intc@<gicd>`: a GICv3 without ITS, one redistributor region. */
export function addGicV3Node(root: DtNode, g: GicV3Layout): DtNode {
  const gic = root.addChild(`intc@${g.gicdBase.toString(16)}`);
  gic.setU32('phandle', g.phandle);
  gic.setU64('reg', [g.gicdBase, GICD_SIZE, g.gicrBase, g.gicrStride * BigInt(g.cpus)]);
  gic.setU32('#redistributor-regions', 1);
  gic.setString('compatible', 'arm,gic-v3');
  gic.setEmpty('ranges');
  gic.setU32('#size-cells', 2);
  gic.setU32('#address-cells', 2);
  gic.setEmpty('interrupt-controller');
  gic.setU32('#interrupt-cells', 3);
  return gic;
}

/** `/timer`: the architected timer's four PPIs, level high. */
export function addArchTimerNode(root: DtNode): DtNode {
  const timer = root.addChild('timer');
  timer.setU32('interrupts', TIMER_PPIS.flatMap((p) => [GIC_FDT_IRQ_TYPE_PPI, p, IRQ_TYPE_LEVEL_HIGH]));
  timer.setEmpty('always-on');
  timer.setStringList('compatible', ['arm,armv8-timer', 'arm,armv7-timer']);
  return timer;
}
