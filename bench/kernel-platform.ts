// Helpers of the kernel benchmark: the primary VM's kernel on the real platform (hypervisor + RM), and a
// secondary VM started through the RM by that kernel (VM_ALLOC_VMID, MEM_LEND of pages from its page
// allocator, VM_CONFIG_IMAGE, VM_INIT, VM_START) whose own guest program is this kernel again.
import { defaultBoard, runOnPrimary } from '../tools/vmm';
import { DeviceTree, toFdt } from '../dt';
import type { GuestCpu } from '../firmware/hypervisor';
import type { Platform } from '../firmware/platform';
import { bootKernel, type BootOptions, type Kernel } from '../core';
import { GunyahRm, GH_RM_ACL, rscMgrModule, type GhRm, type GunyahRmRegistry } from '../drivers/virt';
import { gunyahConsoleModule } from '../drivers/tty';


export interface PrimaryRun<T> {
  platform: Platform;
  kernel: Kernel;
  result: T;
}

/** Boot the board; run `work` on the primary kernel (RM driver and consoles only, bindings checked) as guest code. */
export async function runPrimary<T>(work: (k: Kernel, rm: GhRm | undefined, cpu: GuestCpu, p: Platform) => Promise<T>, boot: BootOptions = {}): Promise<PrimaryRun<T>> {
  return runOnPrimary(
    defaultBoard({ cpus: 2 }),
    // Without the RM driver (the raw-hypercall bench) there is no registry.
    (k, cpu, p) => work(k, k.container.isBound(GunyahRm) ? k.get<GunyahRmRegistry>(GunyahRm).get() : undefined, cpu, p),
    {
      platform: { hypervisor: { capIds: 'random' } },
      smp: true,
      bootKernel: (cpu, o) => bootKernel(cpu, cpu.x[0]!, { drivers: [rscMgrModule, gunyahConsoleModule], ...o, ...boot }),
    },
  );
}

const SVM_IPA = 0x8000_0000n;
const SVM_SIZE = 0x100_0000n;
const SVM_IMAGE = 0x10_0000n;

/** A secondary VM's configuration DT (what a VMM hands the RM): one CPU, vGIC, timer, RM-RPC with a console. */
function svmTree(name: string): DeviceTree {
  const t = new DeviceTree();
  const r = t.root;
  r.setU32('#address-cells', 2);
  r.setU32('#size-cells', 2);
  r.setString('compatible', 'linux,dummy-virt');
  r.setU32('interrupt-parent', 1);
  const cpus = r.addChild('cpus');
  cpus.setU32('#address-cells', 1);
  cpus.setU32('#size-cells', 0);
  const c = cpus.addChild('cpu@0');
  c.setString('device_type', 'cpu');
  c.setString('compatible', 'arm,armv8');
  c.setU32('reg', 0);
  const g = r.addChild('intc@3fff0000');
  g.setString('compatible', 'arm,gic-v3');
  g.setU32('#interrupt-cells', 3);
  g.setEmpty('interrupt-controller');
  g.setU64('reg', [0x3fff_0000n, 0x1_0000n, 0x3ffd_0000n, 0x2_0000n]);
  g.setU32('phandle', 1);
  const timer = r.addChild('timer');
  timer.setStringList('compatible', ['arm,armv8-timer']);
  timer.setU32('interrupts', [1, 13, 4, 1, 14, 4, 1, 11, 4, 1, 10, 4]);
  r.addChild('chosen');
  const cfg = r.addChild('gunyah-vm-config');
  cfg.setString('vm-type', 'aarch64-guest');
  cfg.setString('image-name', name);
  cfg.setString('os-type', 'linux');
  cfg.addChild('memory').setU64('base-address', SVM_IPA);
  const vc = cfg.addChild('vcpus');
  vc.setU32('affinity-map', [1]);
  vc.setU32('sched-priority', -1 >>> 0);
  vc.setU32('sched-timeslice', 2000);
  const rpc = cfg.addChild('vdevices').addChild('rm-rpc');
  rpc.setString('vdevice-type', 'rm-rpc');
  rpc.setString('generate', '/hypervisor/qcom,resource-mgr');
  rpc.setEmpty('console-dev');
  return t;
}

/**
 * Start a secondary VM through the RM from the primary kernel; `program` runs as its kernel's work once
 * it booted (on the VM's vCPU). Returns the VMID once VM_START succeeded.
 */
export async function startSecondary(k: Kernel, rm: GhRm, p: Platform, name: string, program: (svm: Kernel) => Promise<void>): Promise<number> {
  const host = k.mm.pages.allocExact(SVM_SIZE, { zero: true });
  const vmid = await rm.vm.allocVmid(0);
  const dtb = toFdt(svmTree(name));
  k.bootCpu.write(host, dtb);
  p.machine.registerEntry(host + SVM_IMAGE, async (cpu: GuestCpu) => {
    const svm = await bootKernel(cpu, cpu.x[0]!, { drivers: [rscMgrModule, gunyahConsoleModule], kernelImage: { base: SVM_IPA + SVM_IMAGE, size: 0x10_0000n } });
    await program(svm);
  });
  const handle = await rm.mem.lend({ memType: 0, label: 0, acl: [{ vmid, perms: GH_RM_ACL.R | GH_RM_ACL.W | GH_RM_ACL.X }], sgl: [{ ipa: host, size: SVM_SIZE }] });
  await rm.vm.configImage(vmid, 0, handle, SVM_IMAGE, 0x1000n, 0n, 0x1_0000n);
  await rm.vm.init(vmid);
  await rm.vm.start(vmid);
  return vmid;
}
