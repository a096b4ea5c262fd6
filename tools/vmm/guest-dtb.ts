// The base DT a VMM hands the RM for a new VM (GH_VM_SET_DTB_CONFIG), built the way QEMU's mach-virt
// and the Gunyah sample VMM build theirs: CPUs started by PSCI over HVC, /memory, a GICv3 at the
// frames the RM attaches for the VM, the architected timer, /chosen, the described devices, and the
// `gunyah-vm-config` node the RM reads (spec hypervisor-and-rm §20): memory base, proxy-scheduled
// vCPUs, the RM-RPC link (with the console when it is the VM's console) and one doorbell per
// VMM-emulated device interrupt, which the VMM raises with an irqfd.
import { DeviceTree, type DtNode } from '../../dt';
import { addArchTimerNode, addGicV3Node, addPsciNode } from '../../firmware/platform';
import { HOST_ONLY_DEVICE_PROPS, type VmDescription } from './vm-description';

/** Where the VM's vGIC answers (QEMU virt's layout, inside the RM's default VMMIO window). */
export const GUEST_GICD_BASE = 0x0800_0000n;
export const GUEST_GICR_BASE = 0x080a_0000n;
export const GUEST_GICR_STRIDE = 0x2_0000n;
const GIC_SPI = 0;
const IRQ_TYPE_LEVEL_HIGH = 4;
/** First SPI (INTID 32 + n) handed to emulated devices (SPI 1 is mach-virt's UART). */
export const FIRST_DEVICE_SPI = 1;
/** The RM allocates its own VIRQs from SPI 960 up; device SPIs stay below. */
export const LAST_DEVICE_SPI = 927;

const PHANDLE_GIC = 1;
const PHANDLE_CLOCK = 2;

/** An interrupt a VMM-emulated device raises through a doorbell (irqfd label = `label`). */
export interface DeviceIrq {
  device: string;
  /** SPI number (INTID - 32). */
  spi: number;
  /** Doorbell label, what GH_FN_IRQFD names. */
  label: number;
}

export interface GuestDtb {
  tree: DeviceTree;
  /** Interrupts the VMM raises (placement "vmm"), through doorbells. */
  irqs: DeviceIrq[];
  /** Every device's SPI, whatever its placement: the guest's DT is the same in all of them. */
  spis: Map<string, number>;
}

export interface GuestDtbOptions {
  /** Offset of the image from the memory base (the RM starts the boot vCPU there). */
  imageOffset: bigint;
}

function copyProps(from: DtNode, to: DtNode, skip: ReadonlySet<string>): void {
  for (const p of from.properties) if (!skip.has(p.name)) to.setProperty(p.name, p.value.slice());
}

export function buildGuestDtb(d: VmDescription, o: GuestDtbOptions): GuestDtb {
  const t = new DeviceTree();
  const r = t.root;
  r.setU32('interrupt-parent', PHANDLE_GIC);
  r.setString('model', `gunyah-ts VM ${d.name}`);
  r.setU32('#size-cells', 2);
  r.setU32('#address-cells', 2);
  r.setString('compatible', 'linux,dummy-virt');

  addPsciNode(r);

  // The RM replaces /memory with the memory it gives the VM; it must be called exactly that.
  const mem = r.addChild('memory');
  mem.setU64('reg', [d.memoryBase, d.memorySize]);
  mem.setString('device_type', 'memory');

  addGicV3Node(r, { gicdBase: GUEST_GICD_BASE, gicrBase: GUEST_GICR_BASE, gicrStride: GUEST_GICR_STRIDE, cpus: d.vcpus, phandle: PHANDLE_GIC });

  const cpus = r.addChild('cpus');
  cpus.setU32('#size-cells', 0);
  cpus.setU32('#address-cells', 1);
  for (let i = 0; i < d.vcpus; i++) {
    const c = cpus.addChild(`cpu@${i.toString(16)}`);
    c.setU32('reg', i);
    c.setString('enable-method', 'psci');
    c.setString('compatible', 'arm,armv8');
    c.setString('device_type', 'cpu');
  }

  addArchTimerNode(r);

  // PrimeCells are clocked by apb-pclk (mach-virt's 24 MHz fixed clock).
  const clk = r.addChild('apb-pclk');
  clk.setU32('phandle', PHANDLE_CLOCK);
  clk.setString('clock-output-names', 'clk24mhz');
  clk.setU32('clock-frequency', 24_000_000);
  clk.setU32('#clock-cells', 0);
  clk.setString('compatible', 'fixed-clock');

  const irqs: DeviceIrq[] = [];
  const spis = new Map<string, number>();
  let nextSpi = FIRST_DEVICE_SPI;
  let stdout: string | undefined;
  for (const dev of d.devices) {
    const n = r.addChild(dev.name);
    copyProps(dev.node, n, new Set([...HOST_ONLY_DEVICE_PROPS, 'interrupts', 'interrupt-parent']));
    n.setU64('reg', [dev.base, dev.size]);
    if (nextSpi > LAST_DEVICE_SPI) throw new RangeError('too many device interrupts');
    const spi = nextSpi++;
    n.setU32('interrupts', [GIC_SPI, spi, IRQ_TYPE_LEVEL_HIGH]);
    spis.set(dev.name, spi);
    // Native apps and stub VMs raise theirs in the hypervisor; the VMM needs a doorbell.
    if (dev.placement === 'vmm') irqs.push({ device: dev.name, spi, label: irqs.length + 1 });
    if (dev.compatible.includes('arm,primecell')) {
      n.setU32('clocks', [PHANDLE_CLOCK, PHANDLE_CLOCK]);
      n.setStringList('clock-names', ['uartclk', 'apb_pclk']);
    }
    if (d.console === 'pl011' && stdout === undefined && dev.compatible.includes('arm,pl011')) stdout = `/${dev.name}`;
  }

  const chosen = r.addChild('chosen');
  if (d.bootargs !== undefined) chosen.setString('bootargs', d.bootargs);
  if (stdout) chosen.setString('stdout-path', stdout);

  const cfg = r.addChild('gunyah-vm-config');
  cfg.setString('vm-type', 'aarch64-guest');
  cfg.setString('os-type', 'linux');
  cfg.setString('image-name', d.name.slice(0, 79));
  cfg.setU64('kernel-entry-offset', o.imageOffset);
  cfg.addChild('memory').setU64('base-address', d.memoryBase);
  cfg.addChild('interrupts').setU32('config', PHANDLE_GIC);
  const vc = cfg.addChild('vcpus');
  // Proxy scheduling: the vCPUs run only inside GH_VCPU_RUN, on the VMM's CPU and timeslice.
  vc.setString('affinity', 'proxy');
  vc.setString('config', '/cpus');
  vc.setU32('sched-priority', d.priority >>> 0);
  if (d.timesliceUs !== undefined) vc.setU32('sched-timeslice', d.timesliceUs);
  const vd = cfg.addChild('vdevices');
  vd.setString('generate', '/hypervisor');
  const rpc = vd.addChild('rm-rpc');
  rpc.setString('vdevice-type', 'rm-rpc');
  rpc.setString('generate', '/hypervisor/qcom,resource-mgr');
  if (d.console === 'rm') rpc.setEmpty('console-dev');
  rpc.setU32('message-size', 240);
  rpc.setU32('queue-depth', 8);
  for (const irq of irqs) {
    const db = vd.addChild(`${irq.device.replace(/@.*/, '')}-doorbell-${irq.label}`);
    db.setString('vdevice-type', 'doorbell');
    db.setString('generate', `/hypervisor/gunyah-ts,doorbell-${irq.label}`);
    db.setU32('label', irq.label);
    db.setEmpty('peer-default');
    // The VMM's side gets the receive right too, which doorbell_mask needs: a level irqfd sets the
    // enable and ack masks (crosvm's and QEMU's Gunyah doorbell nodes say the same).
    db.setEmpty('source-can-clear');
    db.setU32('interrupts', [GIC_SPI, irq.spi, IRQ_TYPE_LEVEL_HIGH]);
  }
  return { tree: t, irqs, spis };
}
