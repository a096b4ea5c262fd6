// Every misuse of /dev/gunyah, a VM fd and a vCPU fd gets the errno the gh_ v14 driver gives, and
// changes nothing: checked on the real stack (platform, RM, primary kernel).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { _IOW } from '../../../core';
import {
  GH_CREATE_VM,
  GH_FN_IOEVENTFD,
  GH_FN_IRQFD,
  GH_FN_VCPU,
  GH_IOEVENTFD_DATAMATCH,
  GH_VCPU_EXIT,
  GH_VCPU_RESUME,
  GH_VM_BOOT_CONTEXT_REG,
  GH_VM_START,
  GH_VM_STATUS,
  gh_fn_ioeventfd_arg,
  gh_fn_irqfd_arg,
  gh_fn_vcpu_arg,
} from '../../../drivers/virt';
import { GunyahUser } from '../../../tools/vmm/gunyah-user';
import { withPrimary } from '../../tools/vmm/helpers/primary';
import { DTB_REGION, errno, handVm, RAM_IPA, RAM_SIZE, RWX } from './helpers';

const PAGE = 0x1000n;

test('/dev/gunyah and VM fd misuse: errnos of the v14 driver', async () => {
  const { result } = await withPrimary(async ({ proc }) => {
    const g = new GunyahUser(proc);
    const r: Record<string, string> = {};
    const dev = await g.openDev();
    r['CREATE_VM with an argument'] = await errno(g.createVm(dev, 1n));
    r['unknown /dev/gunyah ioctl'] = await errno(g.ioctlNum(dev, GH_VM_START));
    const vm = await g.createVm(dev);
    r['unknown VM ioctl'] = await errno(g.ioctlNum(vm, GH_CREATE_VM));
    r['ioctl number with the wrong struct size'] = await errno(g.ioctlNum(vm, _IOW(0x47, 0x1, 16), 0n));
    const mem = await g.allocGuestMemory(RAM_SIZE);
    const region = (o: Partial<Parameters<GunyahUser['setUserMemRegion']>[1]> = {}) => ({ label: 0, flags: RWX, guestPhysAddr: RAM_IPA, size: RAM_SIZE, userspaceAddr: mem, ...o });
    r['region flags beyond RWX'] = await errno(g.setUserMemRegion(vm, region({ flags: 8 })));
    r['region of size 0'] = await errno(g.setUserMemRegion(vm, region({ size: 0n })));
    r['unaligned region size'] = await errno(g.setUserMemRegion(vm, region({ size: RAM_SIZE - 1n })));
    r['unaligned user address'] = await errno(g.setUserMemRegion(vm, region({ userspaceAddr: mem + 8n })));
    r['unaligned guest address'] = await errno(g.setUserMemRegion(vm, region({ guestPhysAddr: RAM_IPA + 0x800n })));
    r['guest range overflowing u64'] = await errno(g.setUserMemRegion(vm, region({ guestPhysAddr: (1n << 64n) - PAGE })));
    r['user memory not mapped'] = await errno(g.setUserMemRegion(vm, region({ userspaceAddr: mem + RAM_SIZE * 64n })));
    r['region struct pointer not mapped'] = await errno(g.ioctlNum(vm, _IOW(0x47, 0x1, 32), 0x10n));
    r['first region'] = await errno(g.setUserMemRegion(vm, region({ size: RAM_SIZE / 2n }), true));
    r['duplicate label'] = await errno(g.setUserMemRegion(vm, region({ guestPhysAddr: RAM_IPA + RAM_SIZE, userspaceAddr: mem + RAM_SIZE / 2n, size: RAM_SIZE / 2n })));
    r['overlapping guest range'] = await errno(g.setUserMemRegion(vm, region({ label: 1, guestPhysAddr: RAM_IPA + PAGE, userspaceAddr: mem + RAM_SIZE / 2n, size: PAGE })));
    r['DTB range overflowing u64'] = await errno(g.setDtbConfig(vm, (1n << 64n) - PAGE, 2n * PAGE));
    r['function arg_size > 256'] = await errno(g.addFunction(vm, GH_FN_VCPU, new Uint8Array(4), 257));
    r['unknown function type'] = await errno(g.addFunction(vm, 99, gh_fn_vcpu_arg.encode({ id: 0 })));
    r['vcpu arg of the wrong size'] = await errno(g.addFunction(vm, GH_FN_VCPU, new Uint8Array(8)));
    r['function arg pointer not mapped'] = await errno(g.ioctlNum(vm, _IOW(0x47, 0x4, 16), await (async () => {
      const d = proc.mm.mmapAnon(PAGE, 3);
      proc.copyToUser(d, new Uint8Array([GH_FN_VCPU, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0]));
      return d;
    })()));
    r['first vcpu'] = String(await g.addVcpu(vm, 0) >= 0);
    r['duplicate vcpu id'] = await errno(g.addVcpu(vm, 0));
    r['remove a vcpu that does not exist'] = await errno(g.removeFunction(vm, GH_FN_VCPU, gh_fn_vcpu_arg.encode({ id: 5 })));
    r['remove with arg_size > 256'] = await errno(g.removeFunction(vm, GH_FN_VCPU, new Uint8Array(4), 300));
    const efd = proc.eventfd(0, 0);
    r['irqfd flags beyond LEVEL'] = await errno(g.addFunction(vm, GH_FN_IRQFD, gh_fn_irqfd_arg.encode({ fd: efd, label: 1, flags: 2, padding: 0 })));
    r['irqfd on a closed fd'] = await errno(g.addIrqfd(vm, 1000, 1, false));
    r['irqfd on a non-eventfd'] = await errno(g.addIrqfd(vm, dev, 1, false));
    r['irqfd arg of the wrong size'] = await errno(g.addFunction(vm, GH_FN_IRQFD, new Uint8Array(8)));
    r['first irqfd'] = await errno(g.addIrqfd(vm, efd, 1, false));
    r['second irqfd with the same label'] = await errno(g.addIrqfd(vm, efd, 1, true));
    const io = (o: Partial<{ datamatch: bigint; addr: bigint; len: number; fd: number; flags: number }>) =>
      g.addFunction(vm, GH_FN_IOEVENTFD, gh_fn_ioeventfd_arg.encode({ datamatch: 0n, addr: 0x0a00_0000n, len: 4, fd: efd, flags: 0, padding: 0, ...o }));
    r['ioeventfd len 3'] = await errno(io({ len: 3 }));
    r['ioeventfd len 0 with DATAMATCH'] = await errno(io({ len: 0, flags: GH_IOEVENTFD_DATAMATCH }));
    r['ioeventfd unknown flags'] = await errno(io({ flags: 2 }));
    r['ioeventfd range overflowing u64'] = await errno(io({ addr: (1n << 64n) - 2n }));
    r['ioeventfd on a non-eventfd'] = await errno(io({ fd: dev }));
    r['ioeventfd arg of the wrong size'] = await errno(g.addFunction(vm, GH_FN_IOEVENTFD, new Uint8Array(16)));
    r['first ioeventfd'] = await errno(io({}));
    r['second ioeventfd on the same address'] = await errno(io({ len: 0 }));
    r['boot context of an unknown register set'] = await errno(g.setBootContext(vm, GH_VM_BOOT_CONTEXT_REG(3, 0), 0n));
    r['boot context PC index 1'] = await errno(g.setBootContext(vm, GH_VM_BOOT_CONTEXT_REG(1, 1), 0n));
    // The DTB lies past the only region: START shares the parcels, then finds no region for the DTB.
    await g.setDtbConfig(vm, RAM_IPA + RAM_SIZE, DTB_REGION);
    r['start with the DTB outside memory'] = await errno(g.start(vm));
    r['start after a failed start'] = await errno(g.start(vm));
    r['boot context after start'] = await errno(g.setBootContext(vm, GH_VM_BOOT_CONTEXT_REG(0, 1), 0n));
    await proc.close(vm);
    return r;
  });
  assert.deepEqual(result, {
    'CREATE_VM with an argument': 'EINVAL',
    'unknown /dev/gunyah ioctl': 'ENOTTY',
    'unknown VM ioctl': 'ENOTTY',
    'ioctl number with the wrong struct size': 'ENOTTY',
    'region flags beyond RWX': 'EINVAL',
    'region of size 0': 'EINVAL',
    'unaligned region size': 'EINVAL',
    'unaligned user address': 'EINVAL',
    'unaligned guest address': 'EINVAL',
    'guest range overflowing u64': 'EOVERFLOW',
    'user memory not mapped': 'EFAULT',
    'region struct pointer not mapped': 'EFAULT',
    'first region': 'ok',
    'duplicate label': 'EEXIST',
    'overlapping guest range': 'EEXIST',
    'DTB range overflowing u64': 'EOVERFLOW',
    'function arg_size > 256': 'EINVAL',
    'unknown function type': 'ENOENT',
    'vcpu arg of the wrong size': 'EINVAL',
    'function arg pointer not mapped': 'EFAULT',
    'first vcpu': 'true',
    'duplicate vcpu id': 'EEXIST',
    'remove a vcpu that does not exist': 'ENOENT',
    'remove with arg_size > 256': 'EINVAL',
    'irqfd flags beyond LEVEL': 'EINVAL',
    'irqfd on a closed fd': 'EBADF',
    'irqfd on a non-eventfd': 'EINVAL',
    'irqfd arg of the wrong size': 'EINVAL',
    'first irqfd': 'ok',
    'second irqfd with the same label': 'EEXIST',
    'ioeventfd len 3': 'EINVAL',
    'ioeventfd len 0 with DATAMATCH': 'EINVAL',
    'ioeventfd unknown flags': 'EINVAL',
    'ioeventfd range overflowing u64': 'EINVAL',
    'ioeventfd on a non-eventfd': 'EINVAL',
    'ioeventfd arg of the wrong size': 'EINVAL',
    'first ioeventfd': 'ok',
    'second ioeventfd on the same address': 'EEXIST',
    'boot context of an unknown register set': 'EINVAL',
    'boot context PC index 1': 'EINVAL',
    'start with the DTB outside memory': 'EINVAL',
    'start after a failed start': 'ENODEV',
    'boot context after start': 'EINVAL',
  });
});

test('vCPU fd misuse, start twice, run on a stopped VM', async () => {
  const { result, platform } = await withPrimary(async ({ proc, mgr }) => {
    const g = new GunyahUser(proc);
    const r: Record<string, string | number> = {};
    const h = await handVm(g);
    const v = h.vcpus[0]!;
    r['mmap size'] = await g.vcpuMmapSize(v.fd);
    r['unknown vcpu ioctl'] = await errno(g.ioctlNum(v.fd, GH_VM_START));
    r['run before the VM started'] = await errno(g.vcpuRun(v.fd));
    r['mmap at page 1'] = await errno(proc.mmap(PAGE, 3, 1, v.fd, PAGE));
    r['mmap of two pages'] = await errno(proc.mmap(2n * PAGE, 3, 1, v.fd, 0n));
    r['start'] = await errno(g.start(h.vm));
    r['start twice'] = await errno(g.start(h.vm));
    r['VMs in the manager'] = mgr.liveVms;
    v.page.immediateExit = true;
    r['run with immediate_exit'] = await errno(g.vcpuRun(v.fd));
    v.page.immediateExit = false;
    // hello-lite writes its line and powers off: the run ends in a STATUS exit.
    r['run to the end'] = await errno(g.vcpuRun(v.fd));
    r['exit reason'] = v.page.exitReason;
    r['status'] = v.page.status;
    r['exit type'] = v.page.exitInfo.type;
    r['run on the stopped VM'] = await errno(g.vcpuRun(v.fd));
    r['exit reason again'] = v.page.exitReason;
    r['status again'] = v.page.status;
    return r;
  });
  assert.deepEqual(result, {
    'mmap size': 4096,
    'unknown vcpu ioctl': 'EINVAL',
    'run before the VM started': 'ENODEV',
    'mmap at page 1': 'EINVAL',
    'mmap of two pages': 'EINVAL',
    start: 'ok',
    'start twice': 'ok',
    'VMs in the manager': 1,
    'run with immediate_exit': 'EINTR',
    'run to the end': 'ok',
    'exit reason': GH_VCPU_EXIT.STATUS,
    status: GH_VM_STATUS.EXITED,
    'exit type': 1,
    'run on the stopped VM': 'ok',
    'exit reason again': GH_VCPU_EXIT.STATUS,
    'status again': GH_VM_STATUS.EXITED,
  });
  assert.deepEqual(platform.hv.checkInvariants(), []);
});

test('an MMIO read exit resumed with a FAULT action is refused (this hypervisor only emulates)', async () => {
  const { result } = await withPrimary(async ({ proc }) => {
    const g = new GunyahUser(proc);
    const h = await handVm(g, { guest: 'mmio-loop' });
    const v = h.vcpus[0]!;
    await g.start(h.vm);
    await g.vcpuRun(v.fd);
    const first = { reason: v.page.exitReason, write: v.page.mmioIsWrite, addr: v.page.mmioAddr, len: v.page.mmioLen };
    v.page.resumeAction = GH_VCPU_RESUME.FAULT;
    const refused = await errno(g.vcpuRun(v.fd));
    v.page.resumeAction = GH_VCPU_RESUME.HANDLED;
    v.page.mmioData = 8n;
    const resumed = await errno(g.vcpuRun(v.fd));
    const next = v.page.mmioAddr;
    await proc.close(v.fd);
    await proc.close(h.vm);
    return { first, refused, resumed, next };
  });
  assert.deepEqual(result.first, { reason: GH_VCPU_EXIT.MMIO, write: false, addr: 0x0b00_0000n, len: 8 });
  assert.equal(result.refused, 'EINVAL');
  assert.equal(result.resumed, 'ok');
  assert.equal(result.next, 0x0b00_0008n, 'the guest got the value 8 and read the next address');
});
