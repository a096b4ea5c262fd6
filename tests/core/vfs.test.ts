// VFS: misc devices, open/read/write/ioctl/poll/mmap/close through a process, anon-inode fds, errno
// errors for bad input (ENOENT, EBADF, ENOTTY, EFAULT, EINVAL, EBUSY, EEXIST), ioctl encoding, struct
// layouts as C lays them out, eventfd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  EFD_NONBLOCK,
  EFD_SEMAPHORE,
  Errno,
  MAP,
  O,
  PAGE_SIZE,
  POLL,
  PROT,
  WaitQueue,
  _IO,
  _IOC_DIR,
  _IOC_NR,
  _IOC_SIZE,
  _IOC_TYPE,
  _IOR,
  _IOW,
  _IOWR,
  defineStruct,
  eventfdCtx,
  type FileOperations,
} from '../../core/index';
import { bootFake } from './helpers/kernel';

// The /dev/gunyah structs of spec/linux-drivers.md §6.2, declared with the generic helper.
const userspaceMemoryRegion = defineStruct('gh_userspace_memory_region', [
  ['label', 'u32'],
  ['flags', 'u32'],
  ['guest_phys_addr', 'u64'],
  ['memory_size', 'u64'],
  ['userspace_addr', 'u64'],
] as const);
const vmDtbConfig = defineStruct('gh_vm_dtb_config', [
  ['guest_phys_addr', 'u64'],
  ['size', 'u64'],
] as const);
const fnIoeventfdArg = defineStruct('gh_fn_ioeventfd_arg', [
  ['datamatch', 'u64'],
  ['addr', 'u64'],
  ['len', 'u32'],
  ['fd', 's32'],
  ['flags', 'u32'],
  ['padding', 'u32'],
] as const);
const vmExitInfo = defineStruct('gh_vm_exit_info', [
  ['type', 'u16'],
  ['padding', 'u16'],
  ['reason_size', 'u32'],
  ['reason', { array: 'u8', length: 8 }],
] as const);
const GH = 0x47;

test('ioctl numbers encode like _IO/_IOW/_IOR/_IOWR (the gh_ v14 values)', () => {
  assert.equal(_IO(GH, 0), 0x4700); // GH_CREATE_VM
  assert.equal(_IOW(GH, 1, userspaceMemoryRegion), 0x40204701); // GH_VM_SET_USER_MEM_REGION
  assert.equal(_IOW(GH, 2, vmDtbConfig), 0x40104702); // GH_VM_SET_DTB_CONFIG
  assert.equal(_IO('G', 5), 0x4705); // GH_VCPU_RUN
  assert.equal(_IOW('A', 0x11, 32), 0x40204111);
  const cmd = _IOWR('T', 9, 24);
  assert.deepEqual([_IOC_DIR(cmd), _IOC_TYPE(cmd), _IOC_NR(cmd), _IOC_SIZE(cmd)], [3, 0x54, 9, 24]);
  assert.equal(_IOR('x', 1, 8) >>> 30, 2);
  assert.throws(() => _IOW(GH, 256, 8), RangeError);
  assert.throws(() => _IOW(GH, 1, 1 << 14), RangeError);
});

test('struct layouts: natural alignment, sizes of the uapi structs, little-endian round trip', () => {
  assert.equal(userspaceMemoryRegion.size, 32);
  assert.equal(userspaceMemoryRegion.offsetOf('guest_phys_addr'), 8);
  assert.equal(fnIoeventfdArg.size, 32);
  assert.equal(vmExitInfo.size, 16);
  const v = { label: 7, flags: 3, guest_phys_addr: 0x8000_0000n, memory_size: 0x100_0000n, userspace_addr: 0xffff_0000_1234_5000n };
  const bytes = userspaceMemoryRegion.encode(v);
  // label at 0, flags at 4, gpa at 8 (LE)
  assert.deepEqual([...bytes.subarray(0, 12)], [7, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0x80]);
  assert.deepEqual(userspaceMemoryRegion.decode(bytes), v);
  const withPad = defineStruct('pad', [
    ['a', 'u8'],
    ['b', 'u64'],
    ['c', 'u16'],
  ] as const);
  assert.deepEqual(withPad.describe(), [
    { name: 'a', offset: 0, size: 1 },
    { name: 'b', offset: 8, size: 8 },
    { name: 'c', offset: 16, size: 2 },
  ]);
  assert.equal(withPad.size, 24);
  const packed = defineStruct('rm_hdr', [['api', 'u8'], ['type', 'u8'], ['seq', 'u16'], ['msg_id', 'u32']] as const, { packed: true });
  assert.equal(packed.size, 8);
  assert.equal(fnIoeventfdArg.decode(fnIoeventfdArg.encode({ fd: -1 })).fd, -1);
  assert.throws(() => vmDtbConfig.encode({ size: 5 as unknown as bigint }), /expected a bigint/);
  assert.throws(() => fnIoeventfdArg.encode({ len: -1 }), /out of range/);
  assert.throws(() => vmExitInfo.decode(new Uint8Array(15)), /15 bytes for a 16-byte struct/);
});

/** A misc device with a shared page, a counter ioctl and a blocking read. */
function demoDevice(k: Awaited<ReturnType<typeof bootFake>>['k']) {
  const SET = _IOW('D', 1, vmDtbConfig);
  const GET = _IOR('D', 2, vmDtbConfig);
  const MAKE = _IO('D', 3);
  const page = k.mm.pages.allocPages(0, { zero: true });
  const wq = new WaitQueue();
  let stored = { guest_phys_addr: 0n, size: 0n };
  let readable = false;
  const anonFops: FileOperations = { read: () => new TextEncoder().encode('anon!') };
  const fops: FileOperations = {
    read: async (file, count, ctx) => {
      while (!readable) {
        if (file.nonblock) throw new Errno('EAGAIN');
        await wq.wait(ctx.signal);
      }
      return new TextEncoder().encode('hello').subarray(0, count);
    },
    write: (_f, data) => {
      readable = data.length > 0;
      wq.wake(POLL.IN);
      return data.length;
    },
    poll: (_f, pt) => {
      pt?.wait(wq);
      return (readable ? POLL.IN : 0) | POLL.OUT;
    },
    ioctl: (_f, cmd, arg, ctx) => {
      switch (cmd) {
        case SET:
          stored = vmDtbConfig.decode(ctx.copyFromUser(arg, vmDtbConfig.size));
          if (stored.size === 0n) throw new Errno('EINVAL', 'size 0');
          return 0;
        case GET:
          ctx.copyToUser(arg, vmDtbConfig.encode(stored));
          return 0;
        case MAKE:
          if (arg !== 0n) throw new Errno('EINVAL', 'arg must be 0');
          return k.vfs.anonInodeGetFd(ctx, 'demo-child', anonFops, undefined, O.RDWR | O.CLOEXEC);
        default:
          throw new Errno('ENOTTY');
      }
    },
    mmap: (_f, req) => {
      if (req.pgoff !== 0n || req.length > BigInt(PAGE_SIZE)) throw new Errno('EINVAL', 'one page at offset 0');
      return page;
    },
  };
  k.vfs.miscRegister({ name: 'demo', fops });
  return { SET, GET, MAKE, page };
}

test('a misc device through a process: ioctl structs in user memory, anon fds, mmap, errors', async () => {
  const { k } = await bootFake();
  const { SET, GET, MAKE, page } = demoDevice(k);
  assert.ok(k.vfs.listDev().includes('/dev/demo'));
  const p = k.spawn('test');
  const fd = await p.open('/dev/demo', O.RDWR);
  const buf = await p.mmap(PAGE_SIZE, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS);
  p.copyToUser(buf, vmDtbConfig.encode({ guest_phys_addr: 0x8000_0000n, size: 0x1000n }));
  assert.equal(await p.ioctl(fd, SET, buf), 0);
  assert.equal(await p.ioctl(fd, GET, buf + 64n), 0);
  assert.deepEqual(vmDtbConfig.decode(p.copyFromUser(buf + 64n, 16)), { guest_phys_addr: 0x8000_0000n, size: 0x1000n });
  // Bad input.
  p.copyToUser(buf, vmDtbConfig.encode({ size: 0n }));
  await assert.rejects(p.ioctl(fd, SET, buf), (e: unknown) => Errno.is(e, 'EINVAL'));
  await assert.rejects(p.ioctl(fd, SET, 0x1000n), (e: unknown) => Errno.is(e, 'EFAULT'));
  await assert.rejects(p.ioctl(fd, _IO('D', 99)), (e: unknown) => Errno.is(e, 'ENOTTY'));
  await assert.rejects(p.ioctl(fd, MAKE, 1n), (e: unknown) => Errno.is(e, 'EINVAL'));
  await assert.rejects(p.ioctl(99, GET, buf), (e: unknown) => Errno.is(e, 'EBADF'));
  await assert.rejects(p.open('/dev/nope'), (e: unknown) => Errno.is(e, 'ENOENT'));
  // Anonymous inode fds (as GH_CREATE_VM returns).
  const child = Number(await p.ioctl(fd, MAKE, 0n));
  assert.equal(child, fd + 1);
  assert.equal(p.files.get(child).path, 'anon_inode:demo-child');
  assert.equal(p.files.isCloexec(child), true);
  assert.equal(new TextDecoder().decode(await p.readBytes(child, 16)), 'anon!');
  // mmap of the device page is the device's page itself (identity mapping).
  const map = await p.mmap(PAGE_SIZE, PROT.READ | PROT.WRITE, MAP.SHARED, fd, 0);
  assert.equal(map, page);
  p.cpu.write32(map + 8n, 0xdeadbeef);
  assert.equal(k.bootCpu.read32(page + 8n), 0xdeadbeef);
  await assert.rejects(p.mmap(PAGE_SIZE, PROT.READ, MAP.SHARED, fd, PAGE_SIZE), (e: unknown) => Errno.is(e, 'EINVAL'));
  await assert.rejects(p.mmap(PAGE_SIZE, PROT.READ, MAP.SHARED, fd, 5), (e: unknown) => Errno.is(e, 'EINVAL'));
  await assert.rejects(p.mmap(PAGE_SIZE, PROT.READ, MAP.SHARED, child, 0), (e: unknown) => Errno.is(e, 'ENODEV'));
  // Reads into unmapped memory are EFAULT; reading kernel memory through a bad pointer is refused.
  await p.writeBytes(fd, new Uint8Array([1]));
  await assert.rejects(p.read(fd, 0x10n, 5), (e: unknown) => Errno.is(e, 'EFAULT'));
  // misc registration conflicts.
  assert.throws(() => k.vfs.miscRegister({ name: 'demo', fops: {} }), (e: unknown) => Errno.is(e, 'EEXIST'));
  const misc = { name: 'fixed', minor: 42, fops: {} };
  k.vfs.miscRegister(misc);
  assert.throws(() => k.vfs.miscRegister({ name: 'other', minor: 42, fops: {} }), (e: unknown) => Errno.is(e, 'EBUSY'));
  await p.close(fd);
  await assert.rejects(p.close(fd), (e: unknown) => Errno.is(e, 'EBADF'));
  await p.exit();
  await k.shutdown();
});

test('blocking read waits for data; nonblocking is EAGAIN; poll reports readiness; EINTR on interrupt', async () => {
  const { m, k } = await bootFake();
  demoDevice(k);
  const p = k.spawn('reader');
  const q = k.spawn('writer');
  const rfd = await p.open('/dev/demo', O.RDONLY);
  const nb = await p.open('/dev/demo', O.RDONLY | O.NONBLOCK);
  const wfd = await q.open('/dev/demo', O.WRONLY);
  await assert.rejects(p.readBytes(nb, 8), (e: unknown) => Errno.is(e, 'EAGAIN'));
  assert.deepEqual(await p.poll([{ fd: rfd, events: POLL.IN }], 0), [0]);
  let got = '';
  const reading = p.readBytes(rfd, 5).then((b) => (got = new TextDecoder().decode(b)));
  const polling = p.poll([{ fd: rfd, events: POLL.IN }], -1);
  // A bad descriptor reports POLLNVAL at once.
  assert.deepEqual(await p.poll([{ fd: 77, events: POLL.IN }], -1), [POLL.NVAL]);
  await m.settle();
  assert.equal(got, '');
  await q.writeBytes(wfd, new Uint8Array([1]));
  await reading;
  assert.equal(got, 'hello');
  assert.deepEqual(await polling, [POLL.IN]);
  // Write-only descriptors cannot be read.
  await assert.rejects(q.readBytes(wfd, 1), (e: unknown) => Errno.is(e, 'EBADF'));
  // A poll with a timeout expires on virtual time.
  const r = k.spawn('idle');
  const efd = r.eventfd(0, 0);
  const timed = r.poll([{ fd: efd, events: POLL.IN }], 10);
  await m.advance(11_000_000);
  assert.deepEqual(await timed, [0]);
  // A blocked read is interrupted.
  const blocked = r.readBytes(efd, 8).catch((e: unknown) => e);
  await m.settle();
  r.interrupt();
  assert.ok(Errno.is(await blocked, 'EINTR'));
  await k.shutdown();
});

test('eventfd: counter semantics, EFD_SEMAPHORE, EFD_NONBLOCK, overflow, bad sizes, poll, wakeup hooks', async () => {
  const { k } = await bootFake();
  const p = k.spawn('efd');
  const buf = await p.mmap(PAGE_SIZE, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS);
  const u64 = (v: bigint) => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, v, true);
    return b;
  };
  const readU64 = async (fd: number) => new DataView((await p.readBytes(fd, 8)).buffer).getBigUint64(0, true);
  const fd = p.eventfd(3, EFD_NONBLOCK);
  await p.writeBytes(fd, u64(4n));
  assert.equal(await readU64(fd), 7n);
  await assert.rejects(readU64(fd), (e: unknown) => Errno.is(e, 'EAGAIN'));
  const sem = p.eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
  assert.equal(await readU64(sem), 1n);
  assert.equal(await readU64(sem), 1n);
  await assert.rejects(readU64(sem), (e: unknown) => Errno.is(e, 'EAGAIN'));
  // Writing ULLONG_MAX is EINVAL; filling to ULLONG_MAX-1 makes a further write EAGAIN.
  await assert.rejects(p.writeBytes(fd, u64(0xffff_ffff_ffff_ffffn)), (e: unknown) => Errno.is(e, 'EINVAL'));
  await p.writeBytes(fd, u64(0xffff_ffff_ffff_fffen));
  assert.deepEqual(await p.poll([{ fd, events: POLL.IN | POLL.OUT }], 0), [POLL.IN]);
  await assert.rejects(p.writeBytes(fd, u64(1n)), (e: unknown) => Errno.is(e, 'EAGAIN'));
  // Short buffers.
  p.copyToUser(buf, u64(1n));
  await assert.rejects(p.write(sem, buf, 4), (e: unknown) => Errno.is(e, 'EINVAL'));
  await assert.rejects(p.read(sem, buf, 7), (e: unknown) => Errno.is(e, 'EINVAL'));
  assert.throws(() => p.eventfd(0, 0x40), (e: unknown) => Errno.is(e, 'EINVAL'));
  // Kernel side: eventfd_signal and a wakeup hook (what irqfd installs).
  const ctx = eventfdCtx(p.files.get(sem));
  const seen: number[] = [];
  ctx.wq.add((mask) => seen.push(mask));
  ctx.signal(5n);
  assert.deepEqual(seen, [POLL.IN]);
  assert.equal(await readU64(sem), 1n);
  const kmsg = await p.open('/dev/kmsg', O.RDONLY);
  assert.throws(() => eventfdCtx(p.files.get(kmsg)), (e: unknown) => Errno.is(e, 'EINVAL'));
  await p.close(sem);
  assert.deepEqual(seen, [POLL.IN, POLL.OUT, POLL.HUP]);
  await k.shutdown();
});

test('file table: lowest free fd, dup shares the file, EMFILE at the limit, FIOCLEX', async () => {
  const { k } = await bootFake();
  const p = k.spawn('fds');
  const a = p.eventfd();
  const b = p.eventfd();
  await p.close(a);
  const c = p.eventfd();
  assert.equal(c, a);
  const d = p.dup(b);
  assert.equal(p.files.get(d), p.files.get(b));
  await p.ioctl(d, 0x5451); // FIOCLEX
  assert.equal(p.files.isCloexec(d), true);
  for (let i = p.files.entries().length; i < 1024; i++) p.eventfd();
  assert.throws(() => p.eventfd(), (e: unknown) => Errno.is(e, 'EMFILE'));
  await p.exit();
  assert.throws(() => p.eventfd(), (e: unknown) => Errno.is(e, 'ESRCH'));
  await k.shutdown();
});
