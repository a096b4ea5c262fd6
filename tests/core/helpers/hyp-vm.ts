// Boot this kernel inside a VM of the real hypervisor: the root VM (standing in for the RM) builds a VM
// with hypercalls only (tests/firmware/hypervisor/harness.ts), and the VM's vCPU 0 runs a tiny boot
// loader that writes the DTB into the VM's RAM and calls bootKernel, as a bootloader would with x0.
import { DeviceTree, toFdt } from '../../../dt/index';
import type { BootEnv, GuestCpu } from '../../../firmware/hypervisor/index';
import { bootKernel, secondaryEntry, type BootOptions, type Kernel } from '../../../core/index';
import { buildVm, ok, RAM_BASE, rig, type BuiltVm, type Rig } from '../../firmware/hypervisor/harness';
import { Hvc } from '../../../firmware/hypervisor/index';

export const VM_IPA = 0x8000_0000;
export const VM_SIZE = 0x100_0000;
export const VM_PA = RAM_BASE + 0x1000_0000;
/** Where the loader puts the DTB (in the VM's RAM, 8-byte aligned). */
export const VM_DTB = VM_IPA + 0xf0_0000;
/** The secondary-CPU entry's IPA (the ROM table maps it to core's secondaryEntry). */
export const VM_SECONDARY = VM_IPA + 0x1000;

/** The VM's device tree: what an RM would hand a Linux guest (RAM, CPUs with PSCI, vGIC, timer). */
export function vmTree(env: BootEnv, ncpus: number): DeviceTree {
  const t = new DeviceTree();
  const r = t.root;
  r.setStringList('compatible', ['gunyah-ts,vm']);
  r.setString('model', 'gunyah-ts test VM');
  r.setU32('#address-cells', 2);
  r.setU32('#size-cells', 2);
  r.setU32('interrupt-parent', 1);
  const chosen = r.addChild('chosen');
  chosen.setString('bootargs', 'console=hvc0');
  const cpus = r.addChild('cpus');
  cpus.setU32('#address-cells', 1);
  cpus.setU32('#size-cells', 0);
  for (let i = 0; i < ncpus; i++) {
    const c = cpus.addChild(`cpu@${i}`);
    c.setString('device_type', 'cpu');
    c.setStringList('compatible', ['arm,cortex-a57']);
    c.setU32('reg', i);
    c.setString('enable-method', 'psci');
  }
  const mem = r.addChild(`memory@${VM_IPA.toString(16)}`);
  mem.setString('device_type', 'memory');
  mem.setU64('reg', [BigInt(VM_IPA), BigInt(VM_SIZE)]);
  const psci = r.addChild('psci');
  psci.setStringList('compatible', ['arm,psci-1.0', 'arm,psci-0.2']);
  psci.setString('method', 'hvc');
  const gic = r.addChild(`interrupt-controller@${env.gicd_base.toString(16)}`);
  gic.setStringList('compatible', ['arm,gic-v3']);
  gic.setU64('reg', [env.gicd_base, 0x10000n, env.gicr_base, env.gicr_stride * BigInt(ncpus)]);
  gic.setU32('#interrupt-cells', 3);
  gic.setEmpty('interrupt-controller');
  gic.setU32('#redistributor-regions', 1);
  gic.setU32('phandle', 1);
  const timer = r.addChild('timer');
  timer.setStringList('compatible', ['arm,armv8-timer']);
  timer.setU32('interrupts', [1, 13, 4, 1, 14, 4, 1, 11, 4, 1, 10, 4]);
  timer.setEmpty('always-on');
  return t;
}

export interface HypKernel {
  rig: Rig;
  kernel: Kernel;
}

/** Build the VM, boot the kernel in it, run the machine until quiet. */
export interface HypBootOptions {
  ncpus?: number;
  boot?: BootOptions;
  /** The VM's DT (default vmTree). */
  tree?: (env: BootEnv) => DeviceTree;
  /** Root-side work after the VM is built and before its vCPU 0 is powered on (caps, virqs, peers). */
  rootSetup?: (cpu: GuestCpu, env: BootEnv, vm: BuiltVm, r: Rig) => Promise<void>;
  /** Root-side work after the VM's vCPU 0 was powered on (a peer the VM talks to). */
  rootAfterPowerOn?: (cpu: GuestCpu, env: BootEnv, vm: BuiltVm, r: Rig) => Promise<void>;
  /** Run by the VM's vCPU 0 after the kernel booted. */
  afterBoot?: (kernel: Kernel, cpu: GuestCpu) => Promise<void>;
}

export async function bootOnHypervisor(opts: HypBootOptions = {}): Promise<HypKernel> {
  const ncpus = opts.ncpus ?? 2;
  let kernel: Kernel | undefined;
  let failure: unknown;
  const r = rig(
    async (cpu, env) => {
      const vm = await buildVm(cpu, env, r.machine, {
        noPowerOn: true,
        vmid: 45,
        pa: VM_PA,
        size: VM_SIZE,
        ipaBase: VM_IPA,
        entry: VM_IPA,
        vcpus: ncpus,
        psci: true,
        code: async (g: GuestCpu) => {
          const blob = toFdt(opts.tree ? opts.tree(env) : vmTree(env, ncpus));
          g.write(BigInt(VM_DTB), blob);
          try {
            kernel = await bootKernel(g, BigInt(VM_DTB), {
              secondaryEntry: BigInt(VM_SECONDARY),
              kernelImage: { base: BigInt(VM_IPA), size: 0x20_0000n },
              ...opts.boot,
            });
            await opts.afterBoot?.(kernel, g);
          } catch (e) {
            failure = e;
          }
        },
      });
      await opts.rootSetup?.(cpu, env, vm, r);
      await ok(cpu, Hvc.VCPU_POWERON, vm.vcpus[0]!, VM_IPA, 0, 0);
      await opts.rootAfterPowerOn?.(cpu, env, vm, r);
    },
    { cpus: Math.max(ncpus, 2) },
  );
  r.machine.registerEntry(VM_PA + (VM_SECONDARY - VM_IPA), secondaryEntry);
  await r.machine.runUntilQuiescent();
  if (failure) throw failure;
  if (!kernel) throw new Error('the kernel did not finish booting');
  return { rig: r, kernel };
}

/**
 * Run `fn` (kernel work started from the host, as a posted event) with the machine running until `fn`
 * settles. The machine runs "forever" (it waits for the host instead of returning when it has no
 * events) and is stopped when `fn` settles: host code is not guest code, so between its CPU calls the
 * machine must not be asked to finish. A wall-clock guard fails a hung test instead of hanging it.
 */
export async function onMachine<T>(r: Rig, fn: () => Promise<T>, guardMs = 20_000): Promise<T> {
  let out: { v: T } | { e: unknown } | undefined;
  r.machine.post(() => {
    fn().then(
      (v) => {
        out = { v };
        r.machine.stop();
      },
      (e: unknown) => {
        out = { e };
        r.machine.stop();
      },
    );
  });
  const guard = setTimeout(() => r.machine.stop(), guardMs);
  try {
    await r.machine.runForever();
  } finally {
    clearTimeout(guard);
  }
  if (!out) throw new Error(`did not finish within ${guardMs} ms of wall time`);
  if ('e' in out) throw out.e;
  return out.v;
}
