// Creation of the primary VM at RM boot (spec §23 step 3-5; RM's hlos_vm.c): cspace, address space,
// VPM group, VIC at the platform's GIC addresses, one pinned critical vCPU per usable core, its
// RAM donated and identity-mapped, device memory and hardware IRQs mapped 1:1, the RM-RPC link
// (240 x 8) with the console, the RM's vCPU cap, the DT patch, and the boot vCPU's power-on.
import { applyOverlayFdt, toFdt } from '../../../dt';
import { SCHED, VcpuOption } from '../../hypervisor';
import { RmErr, RmError } from '../abi/rm-error';
import { VmState, Vmid } from '../abi/vm-state';
import { buildHlosOverlay } from '../config/hlos-overlay';
import { DEFAULT_MSG_SIZE, DEFAULT_QUEUE_DEPTH } from '../config/vm-config-parser';
import { mapAttrs } from '../mem/memparcel';
import type { ResourceManager } from '../resource-manager';
import { checkDtbHeader } from './dt-patch';
import { GUEST_FREE_IRQ_START, VirqAllocator } from './virq-allocator';
import { Right } from './vm-builder';
import type { Vm } from './vm';

const MAP_PARTIAL = 1;
/** Device memory mapping: RW, Device-nGnRE. */
const DEVICE_ATTRS = mapAttrs(6, 1);
/** Largest DT region assumed when the kernel does not follow the DT in memory. */
const HLOS_DT_REGION_MAX = 0x20_0000n;

/** Build the primary VM and power it on. */
export async function createHlos(rm: ResourceManager): Promise<Vm> {
  const { env, hyp, builder } = rm;
  const vm = rm.vms.create(Vmid.HLOS, Vmid.RM);
  vm.name = 'HLOS';
  // The HLOS's vCPUs are critical: its exit is the device's, never a VM exit the RM handles.
  vm.crashFatal = true;
  vm.priority = SCHED.DEFAULT_PRIORITY;
  vm.state = VmState.INIT;

  await builder.createBase(vm);
  const o = vm.objects!;
  await builder.createAddrspace(vm, false);
  await builder.createVpm(vm);
  const cores: number[] = [];
  for (let c = 0; c < 64; c++) if ((env.usableCores >> BigInt(c)) & 1n) cores.push(c);
  if (cores.length === 0) throw new RmError(RmErr.NORESOURCE, 'no usable core for the primary VM');
  // The boot core's vCPU first: it is vCPU 0, the one powered on.
  cores.sort((a, b) => (a === env.bootCore ? -1 : b === env.bootCore ? 1 : a - b));
  await builder.createVic(vm, cores.length, { gicdBase: env.gicdBase, gicrBase: env.gicrBase, gicrStride: env.gicrStride }, true);
  o.virqs = VirqAllocator.forGuest();
  for (const [i, core] of cores.entries()) {
    await builder.createVcpu(vm, i, {
      affinity: core,
      priority: SCHED.DEFAULT_PRIORITY,
      timesliceNs: BigInt(SCHED.DEFAULT_TIMESLICE_NS),
      options: VcpuOption.HLOS_VM | VcpuOption.CRITICAL | VcpuOption.PINNED,
      proxy: false,
      cpuPath: undefined,
      boot: i === 0,
      hvcEnabled: false,
    });
  }
  await builder.attachGicrs(vm);

  // Memory: the HLOS's RAM from the root extent, identity mapped RWX; device memory 1:1.
  await rm.memparcels.donateInitialRam(vm, env.hlosBase, env.hlosSize);
  if (env.deviceMe !== undefined && env.deviceSize > 0n) await mapDevices(rm, vm);

  // Hardware IRQs are the HLOS's, at their own numbers.
  for (const [irq, cap] of env.hwirqs) {
    await hyp.hwirqBindVirq(cap, o.vic!, irq);
    o.virqs.reserve(irq);
    rm.irqs.addHwIrq(irq, cap, vm.vmid, irq);
  }

  const link = await builder.createRpcLink(vm, { label: 0, generate: '/hypervisor/qcom,resource-mgr', pushCompatible: [] }, DEFAULT_MSG_SIZE, DEFAULT_QUEUE_DEPTH, true);

  // The RM's own vCPU, for the HLOS to yield to (GET_HYP_RESOURCES of VMID 0xFF).
  const rmVm = rm.vms.require(Vmid.RM);
  const rmVcpuCopy = await hyp.copyCap(env.cspace, env.vcpu, o.cspace, Right.THREAD_AFFINITY);
  rmVm.objects = {
    cspace: env.cspace,
    addrspace: env.addrspace,
    vic: env.vic,
    vpm: undefined,
    ramMe: env.ramMe,
    vcpus: [{ index: 0, cap: env.vcpu, ownerCap: rmVcpuCopy, vmCap: undefined, affinity: env.bootCore, haltVirq: -1, wakeupVirq: undefined, cpuPath: undefined, boot: true, hvcEnabled: false }],
    vdevs: [],
    virqs: rm.rmVirqs,
    gic: undefined,
    nextVdevHandle: 1,
  };
  rm.vms.registerPeers(vm, rmVm);

  await patchHlosDtb(rm, vm, {
    vmid: vm.vmid,
    txCap: link.self.txCap!,
    rxCap: link.self.rxCap!,
    txVirq: link.self.txVirq!,
    rxVirq: link.self.rxVirq!,
    msgSize: DEFAULT_MSG_SIZE,
    depth: DEFAULT_QUEUE_DEPTH,
    freeIrqStart: GUEST_FREE_IRQ_START,
  });

  await hyp.vcpuPoweron(o.vcpus[0]!.cap, env.hlosEntry, env.hlosDtBase, 0n);
  vm.state = VmState.RUNNING;
  rm.trace('primary VM running');
  return vm;
}

/** Device memory into the HLOS 1:1, around the vGIC frames (those are emulated). */
async function mapDevices(rm: ResourceManager, vm: Vm): Promise<void> {
  const { env, hyp } = rm;
  const as = vm.objects!.addrspace!;
  const start = env.deviceBase;
  const end = env.deviceBase + env.deviceSize;
  const holes = [...vm.ipa].filter((r) => r.value.kind === 'vdevice' && r.base < end && r.base + r.size > start).sort((a, b) => (a.base < b.base ? -1 : 1));
  let at = start;
  const map = async (a: bigint, b: bigint) => {
    if (b > a) await hyp.addrspaceMap(as, env.deviceMe!, a, DEVICE_ATTRS, MAP_PARTIAL, a - env.deviceBase, b - a);
  };
  for (const h of holes) {
    await map(at, h.base > start ? h.base : start);
    at = h.base + h.size;
  }
  await map(at, end);
}

/** Patch the HLOS's DT in its memory through a temporary mapping of its RAM into the RM. */
async function patchHlosDtb(rm: ResourceManager, vm: Vm, input: Parameters<typeof buildHlosOverlay>[0]): Promise<void> {
  const { env, hyp, plat } = rm;
  const dtBase = env.hlosDtBase;
  const ramEnd = env.hlosBase + env.hlosSize;
  let region = env.hlosEntry > dtBase && env.hlosEntry <= ramEnd ? env.hlosEntry - dtBase : ramEnd - dtBase;
  if (region > HLOS_DT_REGION_MAX) region = HLOS_DT_REGION_MAX;
  const pageBase = dtBase & ~0xfffn;
  const mapSize = ((dtBase + region + 0xfffn) & ~0xfffn) - pageBase;
  const me = vm.objects!.ramMe;
  const off = pageBase - env.rootBase;
  await hyp.addrspaceMap(env.addrspace, me, pageBase, mapAttrs(6, 15), MAP_PARTIAL, off, mapSize);
  try {
    const total = checkDtbHeader(plat.read(dtBase, 40), region);
    const base = plat.read(dtBase, total);
    const out = applyOverlayFdt(base, [toFdt(buildHlosOverlay(input))]);
    if (BigInt(out.length) > region) throw new RmError(RmErr.NORESOURCE, `the primary VM's DT region (${region} bytes) cannot hold ${out.length}`);
    plat.write(dtBase, out);
  } finally {
    await hyp.addrspaceUnmap(env.addrspace, me, pageBase, MAP_PARTIAL, off, mapSize);
  }
}
