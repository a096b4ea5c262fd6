// What a benchmark or a demo needs to run guests with placed devices on the whole stack: boot the
// platform with the primary kernel and run a program in it, describe a VM with one virtio-console in
// a given placement, start and tear down VMs through the VMM.
import { filter, firstValueFrom } from 'rxjs';
import type { Kernel } from '../../../core/index';
import type { GhVmManager } from '../../../drivers/virt/index';
import { DeviceTree } from '../../../dt/index';
import type { Platform } from '../../../firmware/platform/index';
import { builtinImage } from '../../image/builtin-images';
import { defaultBoard } from '../../vmm/default-board';
import { runOnPrimary, vmManager } from '../../vmm/primary-kernel';
import { parseVmDescription, type Placement, type VmDescription } from '../../vmm/vm-description';
import { Vmm, type VmmDeviceProvider } from '../../vmm/vmm';

export { MMIO_BENCH_MAGIC, MMIO_BENCH_RESULTS_BELOW } from './mmio-bench-abi';

export const VIRTIO_CONSOLE_NODE = 'virtio_mmio@a000000';

export interface PrimaryEnv {
  k: Kernel;
  mgr: GhVmManager;
  platform: Platform;
}

/** A VM description with one virtio-console device in `placement` (none when undefined). */
export function placedVmDescription(name: string, image: string, bootargs: string, placement: Placement | undefined, memorySize = 0x200_0000n): VmDescription {
  const t = new DeviceTree();
  const r = t.root;
  r.setStringList('compatible', ['gunyah-ts,vm']);
  r.setString('model', name);
  r.setString('image', image);
  r.setU64('memory-size', [memorySize]);
  r.setString('bootargs', bootargs);
  r.setU32('#address-cells', 2);
  r.setU32('#size-cells', 2);
  if (placement) {
    const d = r.addChild(VIRTIO_CONSOLE_NODE);
    d.setStringList('compatible', ['virtio,mmio']);
    d.setU32('virtio-device-type', 3);
    d.setU64('reg', [0x0a00_0000n, 0x200n]);
    d.setEmpty('dma-coherent');
    d.setString('placement', placement);
  }
  return parseVmDescription(t, r);
}

/** Build bundled guest images (before the machine runs: a build is host work it cannot wait for). */
export async function buildImages(names: readonly string[]): Promise<Map<string, Uint8Array>> {
  const m = new Map<string, Uint8Array>();
  for (const n of names) m.set(`builtin:${n}`, await builtinImage(n));
  return m;
}

/** Boot the default board (`cpus` physical CPUs) and run `program` in the primary VM. */
export async function onPrimary<T>(program: (env: PrimaryEnv) => Promise<T>, opts: { cpus?: number; limitNs?: number } = {}): Promise<T> {
  const run = await runOnPrimary(defaultBoard({ cpus: opts.cpus ?? 2 }), (k, _cpu, platform) => program({ k, mgr: vmManager(k), platform }), opts.limitNs !== undefined ? { limitNs: opts.limitNs } : {});
  return run.result;
}

/** Create and start a VM through the VMM in a process of its own. */
export async function startVm(env: PrimaryEnv, d: VmDescription, image: Uint8Array, devices?: VmmDeviceProvider): Promise<Vmm> {
  const vmm = await Vmm.create(env.k.spawn(`vmm-${d.name}`), d, image, devices ? { devices } : {});
  await vmm.start();
  return vmm;
}

/** Close a VM and wait until the kernel has torn it down. */
export async function finishVm(env: PrimaryEnv, vmm: Vmm): Promise<void> {
  const freed = firstValueFrom(env.mgr.events$.pipe(filter((e) => e.vmid === vmm.vmid && e.kind === 'freed')));
  await vmm.close();
  await freed;
}

export type { Vmm, VmmDeviceProvider } from '../../vmm/vmm';
export type { Placement, VmDescription } from '../../vmm/vm-description';
