// The primary VM's boot DT, built the way QEMU's mach-virt builds its DT (hw/arm/virt.c:
// create_fdt, fdt_add_psci_node, fdt_add_cpu_nodes, fdt_add_timer_nodes, create_gic), restricted to
// what this machine has: CPUs started by PSCI over HVC, memory, a GICv3 (no ITS), the architected
// timer, and /chosen. Node names, property values and order match `qemu-system-aarch64 -machine
// virt,gic-version=3 -cpu <cpu> -smp N -m M` so the two compare node for node; the RM adds
// /hypervisor at boot.
import { DeviceTree, type DtNode } from '../../dt';
import { addArchTimerNode, addGicV3Node, addPsciNode } from './mach-virt';

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

  addPsciNode(root);

  const mem = root.addChild(`memory@${o.memory.base.toString(16)}`);
  reg(mem, [o.memory.base, o.memory.size]);
  mem.setString('device_type', 'memory');

  addGicV3Node(root, { ...o.gic, cpus: o.cpus.length, phandle: gicPhandle });

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

  addArchTimerNode(root);

  const chosen = root.addChild('chosen');
  if (o.bootargs !== undefined) chosen.setString('bootargs', o.bootargs);
  chosen.setProperty('rng-seed', o.seed.slice(0, 32));
  chosen.setProperty('kaslr-seed', o.seed.slice(32, 40));
  return t;
}
