// The primary VM's boot DT, built the way QEMU's mach-virt builds its DT (hw/arm/virt.c:
// create_fdt, fdt_add_psci_node, fdt_add_cpu_nodes, fdt_add_timer_nodes, create_gic), restricted to
// what this machine has: CPUs started by PSCI over HVC, memory, a GICv3 (no ITS), the architected
// timer, and /chosen. Node names, property values and order match `qemu-system-aarch64 -machine
// virt,gic-version=3 -cpu <cpu> -smp N -m M` so the two compare node for node; the RM adds
// /hypervisor at boot.
import { DeviceTree, type DtNode } from '../../dt';

export interface PrimaryDtbOptions {
  cpus: readonly { compatible: string }[];
  memory: { base: bigint; size: bigint };
  gic: { gicdBase: bigint; gicrBase: bigint; gicrStride: bigint };
  /** 40 bytes of seed material: rng-seed (32) and kaslr-seed (8), as QEMU puts them in /chosen. */
  seed: Uint8Array;
  bootargs?: string;
  model?: string;
}

/** QEMU allocates phandles from 0x8000 (qemu_fdt_alloc_phandle); 0x8000 goes to its apb-pclk clock. */
const FIRST_PHANDLE = 0x8000;
/** PSCI 0.2+ function IDs QEMU lists in its node (SMC64 variants where they exist). */
const PSCI_FN = { CPU_SUSPEND: 0xc4000001, CPU_OFF: 0x84000002, CPU_ON: 0xc4000003, MIGRATE: 0xc4000005 } as const;
/** GIC PPI numbers of the architected timer (secure, non-secure, virtual, hypervisor) and level-high flags. */
const TIMER_PPIS = [13, 14, 11, 10] as const;
const GIC_FDT_IRQ_TYPE_PPI = 1;
const IRQ_TYPE_LEVEL_HIGH = 4;

function reg(node: DtNode, pairs: readonly bigint[]): void {
  node.setU64('reg', pairs);
}

export function buildPrimaryDtb(o: PrimaryDtbOptions): DeviceTree {
  if (o.cpus.length === 0) throw new RangeError('the primary VM needs at least one CPU');
  if (o.seed.length < 40) throw new RangeError('40 bytes of seed are needed for rng-seed and kaslr-seed');
  const t = new DeviceTree();
  const root = t.root;
  let nextPhandle = FIRST_PHANDLE + 1;
  // cpus are created last to first in QEMU, so cpu@0 gets the highest of their phandles.
  const cpuPhandles = o.cpus.map((_, i) => nextPhandle + (o.cpus.length - 1 - i));
  nextPhandle += o.cpus.length;
  const gicPhandle = nextPhandle++;

  root.setU32('interrupt-parent', gicPhandle);
  root.setString('model', o.model ?? 'linux,dummy-virt');
  root.setU32('#size-cells', 2);
  root.setU32('#address-cells', 2);
  root.setString('compatible', 'linux,dummy-virt');

  const psci = root.addChild('psci');
  psci.setU32('migrate', PSCI_FN.MIGRATE);
  psci.setU32('cpu_on', PSCI_FN.CPU_ON);
  psci.setU32('cpu_off', PSCI_FN.CPU_OFF);
  psci.setU32('cpu_suspend', PSCI_FN.CPU_SUSPEND);
  psci.setString('method', 'hvc');
  psci.setStringList('compatible', ['arm,psci-1.0', 'arm,psci-0.2', 'arm,psci']);

  const mem = root.addChild(`memory@${o.memory.base.toString(16)}`);
  reg(mem, [o.memory.base, o.memory.size]);
  mem.setString('device_type', 'memory');

  const gic = root.addChild(`intc@${o.gic.gicdBase.toString(16)}`);
  gic.setU32('phandle', gicPhandle);
  reg(gic, [o.gic.gicdBase, 0x1_0000n, o.gic.gicrBase, o.gic.gicrStride * BigInt(o.cpus.length)]);
  gic.setU32('#redistributor-regions', 1);
  gic.setString('compatible', 'arm,gic-v3');
  gic.setEmpty('ranges');
  gic.setU32('#size-cells', 2);
  gic.setU32('#address-cells', 2);
  gic.setEmpty('interrupt-controller');
  gic.setU32('#interrupt-cells', 3);

  const cpus = root.addChild('cpus');
  cpus.setU32('#size-cells', 0);
  cpus.setU32('#address-cells', 1);
  const map = cpus.addChild('cpu-map').addChild('socket0').addChild('cluster0');
  o.cpus.forEach((_, i) => map.addChild(`core${i}`).setU32('cpu', cpuPhandles[i]!));
  o.cpus.forEach((c, i) => {
    const n = cpus.addChild(`cpu@${i.toString(16)}`);
    n.setU32('phandle', cpuPhandles[i]!);
    n.setU32('reg', i);
    n.setString('enable-method', 'psci');
    n.setString('compatible', c.compatible);
    n.setString('device_type', 'cpu');
  });

  const timer = root.addChild('timer');
  timer.setU32('interrupts', TIMER_PPIS.flatMap((p) => [GIC_FDT_IRQ_TYPE_PPI, p, IRQ_TYPE_LEVEL_HIGH]));
  timer.setEmpty('always-on');
  timer.setStringList('compatible', ['arm,armv8-timer', 'arm,armv7-timer']);

  const chosen = root.addChild('chosen');
  if (o.bootargs !== undefined) chosen.setString('bootargs', o.bootargs);
  chosen.setProperty('rng-seed', o.seed.slice(0, 32));
  chosen.setProperty('kaslr-seed', o.seed.slice(32, 40));
  return t;
}
