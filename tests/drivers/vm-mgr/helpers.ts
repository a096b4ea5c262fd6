// A VM set up by hand through /dev/gunyah (what a VMM does before GH_VM_START): lent RAM with the
// image at its base and the DTB at its top, and optional vCPUs with their mapped run pages.
import { toFdt, type DeviceTree } from '../../../dt';
import { GH_MEM_ALLOW_EXEC, GH_MEM_ALLOW_READ, GH_MEM_ALLOW_WRITE } from '../../../drivers/virt';
import { builtinImage } from '../../../tools/image/builtin-images';
import { buildGuestDtb } from '../../../tools/vmm/guest-dtb';
import type { GunyahUser, VcpuRunPage } from '../../../tools/vmm/gunyah-user';
import { vmDescription, type VmDescription } from '../../../tools/vmm/vm-description';

export const RAM_IPA = 0x8000_0000n;
export const RAM_SIZE = 0x100_0000n;
export const DTB_REGION = 0x1_0000n;
export const RWX = GH_MEM_ALLOW_READ | GH_MEM_ALLOW_WRITE | GH_MEM_ALLOW_EXEC;

export interface HandVm {
  dev: number;
  vm: number;
  vmid: number;
  mem: bigint;
  vcpus: { fd: number; page: VcpuRunPage }[];
}

export function guestDt(o: Partial<VmDescription> = {}): DeviceTree {
  return buildGuestDtb(vmDescription({ name: 'hand', image: 'x', memorySize: RAM_SIZE, memoryBase: RAM_IPA, ...o }), { imageOffset: 0n }).tree;
}

/** Create a VM with `guest`'s image and `dt` loaded (not started). */
export async function handVm(g: GunyahUser, opts: { guest?: string; dt?: DeviceTree; vcpus?: number; lend?: boolean } = {}): Promise<HandVm> {
  const image = await builtinImage(opts.guest ?? 'hello-lite');
  const dev = await g.openDev();
  const vm = await g.createVm(dev);
  const vmid = await g.vmid(vm);
  const mem = await g.allocGuestMemory(RAM_SIZE);
  g.proc.copyToUser(mem, image);
  g.proc.copyToUser(mem + RAM_SIZE - DTB_REGION, toFdt(opts.dt ?? guestDt({ vcpus: opts.vcpus ?? 1 })));
  await g.setUserMemRegion(vm, { label: 0, flags: RWX, guestPhysAddr: RAM_IPA, size: RAM_SIZE, userspaceAddr: mem }, opts.lend ?? true);
  await g.setDtbConfig(vm, RAM_IPA + RAM_SIZE - DTB_REGION, DTB_REGION);
  const vcpus = [];
  for (let i = 0; i < (opts.vcpus ?? 1); i++) {
    const fd = await g.addVcpu(vm, i);
    vcpus.push({ fd, page: await g.mapRunPage(fd) });
  }
  return { dev, vm, vmid, mem, vcpus };
}

/** The errno name a call failed with ('ok' when it did not). */
export async function errno(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}
