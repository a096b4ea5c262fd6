// A guest kernel with the virtio drivers in a VM of the real hypervisor, with a virtio-mmio node in
// its DT. The test attaches the device model (through the hypervisor's host API) before the guest
// boots; the guest waits for that, writes its DTB and boots.
import type { DeviceTree } from '../../../dt/index';
import { toFdt } from '../../../dt/index';
import type { BootEnv, GuestCpu } from '../../../firmware/hypervisor/index';
import { bootKernel, secondaryEntry, type Kernel } from '../../../core/index';
import { virtioModule } from '../../../drivers/virtio/index';
import { buildVm, RAM_BASE, rig, signal, type Rig } from '../../firmware/hypervisor/harness';
import { VM_DTB, VM_IPA, VM_SECONDARY, VM_SIZE, vmTree } from '../../core/helpers/hyp-vm';

export const GUEST_VMID = 45;
export const GUEST_PA = RAM_BASE + 0x1000_0000;
export const VIRTIO_BASE = 0x0a00_0000n;
export const VIRTIO_SIZE = 0x200n;
/** DT specifier <0 16 4>: SPI 16, INTID 48, level high. */
export const VIRTIO_SPI = 48;

/** Add the virtio-mmio node the way QEMU virt writes one. */
export function withVirtio(t: DeviceTree, base = VIRTIO_BASE, spi = VIRTIO_SPI): DeviceTree {
  const n = t.root.addChild(`virtio_mmio@${base.toString(16)}`);
  n.setStringList('compatible', ['virtio,mmio']);
  n.setU64('reg', [base, VIRTIO_SIZE]);
  n.setU32('interrupts', [0, spi - 32, 4]);
  n.setEmpty('dma-coherent');
  return t;
}

export interface VirtioGuest {
  rig: Rig;
  kernel: Kernel;
}

/** Build the VM, let `attach` put the device in place, boot the kernel with the virtio drivers. */
export async function bootVirtioGuest(attach: (rg: Rig, env: BootEnv) => void | Promise<void>, opts: { ncpus?: number } = {}): Promise<VirtioGuest> {
  const ncpus = opts.ncpus ?? 1;
  let kernel: Kernel | undefined;
  let failure: unknown;
  const attached = signal();
  const r: Rig = rig(
    async (cpu, env) => {
      await buildVm(cpu, env, r.machine, {
        vmid: GUEST_VMID,
        pa: GUEST_PA,
        size: VM_SIZE,
        ipaBase: VM_IPA,
        entry: VM_IPA,
        vcpus: ncpus,
        psci: true,
        code: async (g: GuestCpu) => {
          await attached.promise;
          g.write(BigInt(VM_DTB), toFdt(withVirtio(vmTree(env, ncpus))));
          try {
            kernel = await bootKernel(g, BigInt(VM_DTB), {
              secondaryEntry: BigInt(VM_SECONDARY),
              kernelImage: { base: BigInt(VM_IPA), size: 0x20_0000n },
              drivers: [virtioModule],
            });
          } catch (e) {
            failure = e;
          }
        },
      });
      await attach(r, env);
      attached.fire();
    },
    { cpus: Math.max(ncpus, 2) },
  );
  r.machine.registerEntry(GUEST_PA + (VM_SECONDARY - VM_IPA), secondaryEntry);
  await r.machine.runUntilQuiescent();
  if (failure) throw failure;
  if (!kernel) throw new Error('the kernel did not finish booting');
  return { rig: r, kernel };
}
