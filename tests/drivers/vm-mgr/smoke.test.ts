import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toFdt } from '../../../dt';
import { GH_MEM_ALLOW_EXEC, GH_MEM_ALLOW_READ, GH_MEM_ALLOW_WRITE, GH_VCPU_EXIT } from '../../../drivers/virt';
import { builtinImage } from '../../../tools/image/builtin-images';
import { buildGuestDtb } from '../../../tools/vmm/guest-dtb';
import { vmDescription } from '../../../tools/vmm/vm-description';
import { GunyahUser } from '../../../tools/vmm/gunyah-user';
import { withPrimary } from '../../tools/vmm/helpers/primary';

test('smoke: hello-lite through raw ioctls', async () => {
  const image = await builtinImage('hello-lite');
  const { result, platform } = await withPrimary(async ({ proc, k }) => {
    const g = new GunyahUser(proc);
    const dev = await g.openDev();
    const vm = await g.createVm(dev);
    const vmid = await g.vmid(vm);
    const size = 0x100_0000n;
    const mem = await g.allocGuestMemory(size);
    const { tree } = buildGuestDtb(vmDescription({ name: 'smoke', image: 'x', memorySize: size }), { imageOffset: 0n });
    const dtb = toFdt(tree);
    proc.copyToUser(mem, image);
    proc.copyToUser(mem + size - 0x1_0000n, dtb);
    await g.setUserMemRegion(vm, { label: 0, flags: GH_MEM_ALLOW_READ | GH_MEM_ALLOW_WRITE | GH_MEM_ALLOW_EXEC, guestPhysAddr: 0x8000_0000n, size, userspaceAddr: mem });
    await g.setDtbConfig(vm, 0x8000_0000n + size - 0x1_0000n, 0x1_0000n);
    const vcpu = await g.addVcpu(vm, 0);
    const page = await g.mapRunPage(vcpu);
    await g.start(vm);
    const tty = await proc.open(`/dev/ttyGH${vmid}`);
    await g.vcpuRun(vcpu);
    const text = new TextDecoder().decode(await proc.readBytes(tty, 100));
    return { vmid, exit: page.exitReason, status: page.status, info: page.exitInfo, text, dmesg: k.dmesg() };
  });
  console.log(result);
  for (const o of platform.hv.objects) { const v = o as any; if (v.faultReason) console.log('fault', v.vmid, v.faultReason); }
  assert.equal(result.exit, GH_VCPU_EXIT.STATUS);
});
