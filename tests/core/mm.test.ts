// mm: memory layout from the DT (reservations, /memreserve/, dynamic reserved-memory, the DTB), the buddy
// allocator (splits, merges, double frees, exhaustion), kmalloc caches, zeroing of recycled pages, and
// user address spaces (EFAULT checks, partial munmap).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Errno, Kmalloc, PAGE_SIZE, PageAllocator, PROT, UserMm, layoutMemory } from '../../core/index';
import { buildBoard } from './helpers/board';

const MiB = 1n << 20n;

test('layout: RAM minus /memreserve/, reserved-memory (static and dynamic) and the DTB, page aligned', () => {
  const t = buildBoard({ ramBase: 0x8000_0000n, ramSize: 16n * MiB });
  t.memReserve.push({ address: 0x8010_0800n, size: 0x100n }); // rounds out to one page
  const rm = t.root.addChild('reserved-memory');
  rm.setU32('#address-cells', 2);
  rm.setU32('#size-cells', 2);
  rm.setEmpty('ranges');
  const fw = rm.addChild('fw@80200000');
  fw.setU64('reg', [0x8020_0000n, 0x10_0000n]);
  fw.setEmpty('no-map');
  const dyn = rm.addChild('pool');
  dyn.setU64('size', 0x4_0000n);
  dyn.setU64('alignment', 0x1_0000n);
  const l = layoutMemory(t, [{ name: 'DTB', base: 0x80f0_0000n, size: 0x1234n }]);
  assert.deepEqual(l.ram, [{ base: 0x8000_0000n, size: 16n * MiB }]);
  const pool = l.reserved.find((r) => r.name === '/reserved-memory/pool')!;
  // Placed top-down in free RAM, aligned.
  assert.equal(pool.base, 0x80fc_0000n);
  assert.deepEqual(l.usable, [
    { base: 0x8000_0000n, size: 0x10_0000n },
    { base: 0x8010_1000n, size: 0x0ff_000n },
    { base: 0x8030_0000n, size: 0xc0_0000n },
    { base: 0x80f0_2000n, size: 0xbe_000n },
  ]);
  assert.equal(l.reserved.find((r) => r.name.startsWith('/reserved-memory/fw'))!.noMap, true);
});

test('layout: no memory node is an error', () => {
  const t = buildBoard();
  t.root.removeChild(t.root.children.find((n) => n.nodeName === 'memory')!);
  assert.throws(() => layoutMemory(t), /no RAM/);
});

test('buddy allocator: aligned blocks, merges back to the initial state, double free and ENOMEM', () => {
  const pa = new PageAllocator([{ base: 0x8000_0000n, size: 4n * MiB }]);
  const total = pa.freePages;
  assert.equal(total, 1024);
  const a = pa.allocPages(3);
  assert.equal(a % (8n * BigInt(PAGE_SIZE)), 0n);
  const b = pa.allocPages(0);
  const c = pa.allocExact(5 * PAGE_SIZE + 1); // 6 pages, from an 8-page block, the tail freed
  assert.equal(pa.freePages, total - 8 - 1 - 6);
  assert.ok(pa.isAllocated(c, 6 * PAGE_SIZE));
  assert.ok(!pa.isAllocated(c + 6n * BigInt(PAGE_SIZE), 1));
  pa.freeRange(c, 6);
  pa.freePagesBlock(b, 0);
  pa.freePagesBlock(a, 3);
  assert.equal(pa.freePages, total);
  assert.deepEqual(pa.buddyinfo().slice(0, 11), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]); // one 4 MiB block again
  assert.throws(() => pa.freePagesBlock(a, 0), (e: unknown) => Errno.is(e, 'EINVAL') && /double free/.test((e as Error).message));
  assert.throws(() => pa.freeRange(0x1000n, 1), (e: unknown) => Errno.is(e, 'EINVAL'));
  assert.throws(() => pa.freeRange(a + 1n, 1), (e: unknown) => Errno.is(e, 'EINVAL'));
  assert.throws(() => pa.allocPages(11), (e: unknown) => Errno.is(e, 'ENOMEM'));
  assert.throws(() => pa.allocPages(99), (e: unknown) => Errno.is(e, 'EINVAL'));
});

test('buddy allocator: random alloc/free sequences never overlap and always merge back (fast-check)', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.boolean()), { maxLength: 200 }), (ops) => {
      const pa = new PageAllocator([
        { base: 0x8000_0000n, size: 1n * MiB },
        { base: 0x8020_3000n, size: 0x5_d000n },
      ]);
      const total = pa.freePages;
      const live: { addr: bigint; order: number }[] = [];
      for (const [order, free] of ops) {
        if (free && live.length > 0) {
          const x = live.splice(live.length >> 1, 1)[0]!;
          pa.freePagesBlock(x.addr, x.order);
          continue;
        }
        let addr: bigint;
        try {
          addr = pa.allocPages(order);
        } catch (e) {
          assert.ok(Errno.is(e, 'ENOMEM'));
          continue;
        }
        const end = addr + (BigInt(PAGE_SIZE) << BigInt(order));
        for (const l of live) {
          const lend = l.addr + (BigInt(PAGE_SIZE) << BigInt(l.order));
          assert.ok(end <= l.addr || addr >= lend, 'overlap');
        }
        live.push({ addr, order });
      }
      for (const l of live) pa.freePagesBlock(l.addr, l.order);
      assert.equal(pa.freePages, total);
    }),
    { seed: 42, numRuns: 200 },
  );
});

test('zeroing allocations zero only recycled pages', () => {
  const pa = new PageAllocator([{ base: 0x8000_0000n, size: 1n * MiB }]);
  const zeroed: [bigint, number][] = [];
  pa.zeroer = (ipa, bytes) => zeroed.push([ipa, bytes]);
  const a = pa.allocPages(1, { zero: true });
  assert.deepEqual(zeroed, []); // never used since boot: still zero
  pa.freePagesBlock(a, 1);
  const b = pa.allocPages(2, { zero: true });
  assert.equal(b, a);
  assert.deepEqual(zeroed, [[a, 2 * PAGE_SIZE]]); // only the two recycled pages
});

test('kmalloc: size classes, slabs shared and returned, ksize, bad frees', () => {
  const pa = new PageAllocator([{ base: 0x8000_0000n, size: 1n * MiB }]);
  const km = new Kmalloc(pa);
  const free0 = pa.freePages;
  const a = km.alloc(24);
  const b = km.alloc(30);
  assert.equal(km.ksize(a), 32);
  assert.equal(b > a ? b - a : a - b, 32n); // neighbours in one kmalloc-32 slab
  assert.equal(a >> 12n, b >> 12n);
  const big = km.alloc(10000);
  assert.equal(km.ksize(big), 4 * PAGE_SIZE);
  const c8k = km.alloc(8192);
  assert.equal(km.ksize(c8k), 8192);
  assert.throws(() => km.free(a + 4n), (e: unknown) => Errno.is(e, 'EINVAL'));
  km.free(a);
  assert.throws(() => km.free(a), (e: unknown) => Errno.is(e, 'EINVAL') && /double kfree/.test((e as Error).message));
  km.free(b);
  km.free(big);
  km.free(c8k);
  assert.equal(pa.freePages, free0);
  assert.equal(km.allocatedBytes, 0);
  assert.throws(() => km.alloc(0), (e: unknown) => Errno.is(e, 'EINVAL'));
  assert.throws(() => km.alloc(8 << 20), (e: unknown) => Errno.is(e, 'ENOMEM'));
});

test('user mm: anonymous maps are contiguous and checked; partial munmap; EFAULT outside or read-only', () => {
  const pa = new PageAllocator([{ base: 0x8000_0000n, size: 4n * MiB }]);
  const mm = new UserMm(pa);
  const before = pa.freePages;
  const a = mm.mmapAnon(3n * BigInt(PAGE_SIZE), PROT.READ | PROT.WRITE);
  const ro = mm.mmapAnon(BigInt(PAGE_SIZE), PROT.READ);
  mm.check(a, 3 * PAGE_SIZE, true);
  assert.throws(() => mm.check(a, 3 * PAGE_SIZE + 1, true), (e: unknown) => Errno.is(e, 'EFAULT'));
  assert.throws(() => mm.check(ro, 4, true), (e: unknown) => Errno.is(e, 'EFAULT'));
  mm.check(ro, 4, false);
  mm.munmap(a + BigInt(PAGE_SIZE), BigInt(PAGE_SIZE));
  assert.throws(() => mm.check(a + BigInt(PAGE_SIZE), 1, false), (e: unknown) => Errno.is(e, 'EFAULT'));
  mm.check(a, PAGE_SIZE, true);
  mm.check(a + 2n * BigInt(PAGE_SIZE), PAGE_SIZE, true);
  assert.equal(mm.mappings.length, 3);
  assert.throws(() => mm.mmapAnon(0n, PROT.READ), (e: unknown) => Errno.is(e, 'EINVAL'));
  assert.throws(() => mm.mmapAnon(1n << 40n, PROT.READ), (e: unknown) => Errno.is(e, 'ENOMEM'));
  assert.throws(() => mm.mmapAnon(8n * MiB, PROT.READ), (e: unknown) => Errno.is(e, 'ENOMEM'));
  mm.destroy();
  assert.equal(pa.freePages, before);
});
