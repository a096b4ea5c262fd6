// Device trees for core/ tests, built with dt/'s tree API: a GICv3 VM with the arch timer, PSCI, CPUs
// and RAM at the FakeMachine's addresses.
import { DeviceTree, type DtNode } from '../../../dt/index';

export const GIC_PHANDLE = 1;

export interface BoardOptions {
  ncpus?: number;
  ramBase?: bigint;
  ramSize?: bigint;
  psci?: boolean;
  timer?: boolean;
  gic?: boolean;
}

export function buildBoard(opts: BoardOptions = {}): DeviceTree {
  const t = new DeviceTree();
  const root = t.root;
  root.setStringList('compatible', ['gunyah-ts,test-vm']);
  root.setString('model', 'core test VM');
  root.setU32('#address-cells', 2);
  root.setU32('#size-cells', 2);
  root.setU32('interrupt-parent', GIC_PHANDLE);

  const cpus = root.addChild('cpus');
  cpus.setU32('#address-cells', 1);
  cpus.setU32('#size-cells', 0);
  for (let i = 0; i < (opts.ncpus ?? 1); i++) {
    const c = cpus.addChild(`cpu@${i}`);
    c.setString('device_type', 'cpu');
    c.setStringList('compatible', ['arm,armv8']);
    c.setU32('reg', i);
    c.setString('enable-method', 'psci');
  }

  const ramBase = opts.ramBase ?? 0x80000000n;
  const mem = root.addChild(`memory@${ramBase.toString(16)}`);
  mem.setString('device_type', 'memory');
  mem.setU64('reg', [ramBase, opts.ramSize ?? 0x1000000n]);

  if (opts.psci ?? true) {
    const psci = root.addChild('psci');
    psci.setStringList('compatible', ['arm,psci-1.0', 'arm,psci-0.2']);
    psci.setString('method', 'hvc');
  }
  if (opts.gic ?? true) {
    const gic = root.addChild('intc@3fff0000');
    gic.setStringList('compatible', ['arm,gic-v3']);
    gic.setU64('reg', [0x3fff0000n, 0x10000n, 0x3ff00000n, 0x20000n * BigInt(opts.ncpus ?? 1)]);
    gic.setU32('#interrupt-cells', 3);
    gic.setEmpty('interrupt-controller');
    gic.setU32('#redistributor-regions', 1);
    gic.setU32('phandle', GIC_PHANDLE);
  }
  if (opts.timer ?? true) {
    const timer = root.addChild('timer');
    timer.setStringList('compatible', ['arm,armv8-timer']);
    // <GIC_PPI 13 LEVEL_LOW>, <GIC_PPI 14 ...>, <GIC_PPI 11 ...> (virtual), <GIC_PPI 10 ...>
    timer.setU32('interrupts', [1, 13, 8, 1, 14, 8, 1, 11, 8, 1, 10, 8]);
    timer.setEmpty('always-on');
  }
  return t;
}

/** Add a device node under the root with compatible and optional SPI interrupts (rising edge). */
export function addDevice(t: DeviceTree, name: string, compatible: string[], spis: number[] = []): DtNode {
  const n = t.root.addChild(name);
  n.setStringList('compatible', compatible);
  if (spis.length > 0) n.setU32('interrupts', spis.flatMap((s) => [0, s, 1]));
  return n;
}
