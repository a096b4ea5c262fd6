// GrantedMemory: only granted ranges, write permission, no partial effects, budget metering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { arrayBacking, GrantedMemory, GuestMemoryError, MAX_GRANTS, type GuestMemoryFault } from '../../../tools/devices/index';

const backing = new Uint8Array(0x3000);
const mem = new GrantedMemory(
  [
    { gpa: 0x1000n, size: 0x1000n, writable: true, backing: 0n },
    { gpa: 0x8000n, size: 0x1000n, writable: false, backing: 0x2000n },
  ],
  arrayBacking(backing),
);

function fault(fn: () => void): GuestMemoryFault | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof GuestMemoryError) return e.fault;
    throw e;
  }
  return undefined;
}

test('reads and writes land at the grant\'s backing address, little-endian', () => {
  mem.write32(0x1010n, 0x1122_3344);
  assert.deepEqual([...backing.subarray(0x10, 0x14)], [0x44, 0x33, 0x22, 0x11]);
  assert.equal(mem.read16(0x1012n), 0x1122);
  backing.set([1, 2, 3, 4, 5, 6, 7, 8], 0x2000);
  assert.equal(mem.read64(0x8000n), 0x0807060504030201n);
  const b = new Uint8Array(3);
  mem.read(0x8001n, b);
  assert.deepEqual([...b], [2, 3, 4]);
});

test('outside the grants, across a grant edge, read-only and overflowing accesses fail without effect', () => {
  const before = backing.slice();
  assert.equal(fault(() => mem.read32(0x0ffen)), 'unmapped');
  assert.equal(fault(() => mem.write32(0x1ffen, 1)), 'unmapped', 'straddles the end');
  assert.equal(fault(() => mem.write16(0x8000n, 1)), 'permission');
  assert.equal(fault(() => mem.read(0x2000n, new Uint8Array(1))), 'unmapped');
  assert.equal(fault(() => mem.read32(-4n)), 'overflow');
  assert.equal(fault(() => mem.read32(2n ** 64n - 2n)), 'overflow');
  assert.deepEqual(backing, before);
  assert.equal(fault(() => mem.read(0x5000n, new Uint8Array(0))), undefined, 'an empty access touches nothing');
});

test('a meter can refuse an access (budget), which then has no effect', () => {
  let left = 8;
  const m = new GrantedMemory([{ gpa: 0n, size: 0x100n, writable: true }], arrayBacking(new Uint8Array(0x100)), (n) => (left -= n) >= 0);
  m.write32(0n, 1);
  m.write32(4n, 2);
  assert.equal(fault(() => m.write32(8n, 3)), 'budget');
  assert.equal(m.bytes, 8);
});

test('bad grant lists are refused', () => {
  const b = arrayBacking(new Uint8Array(16));
  assert.throws(() => new GrantedMemory([{ gpa: 0n, size: 0n, writable: true }], b), RangeError);
  assert.throws(() => new GrantedMemory([{ gpa: 0n, size: 2n ** 60n, writable: true }], b), RangeError);
  assert.throws(
    () =>
      new GrantedMemory(
        [
          { gpa: 0n, size: 0x100n, writable: true },
          { gpa: 0x80n, size: 0x100n, writable: true },
        ],
        b,
      ),
    /overlap/,
  );
  assert.throws(() => new GrantedMemory(Array.from({ length: MAX_GRANTS + 1 }, (_, i) => ({ gpa: BigInt(i * 0x1000), size: 0x1000n, writable: true })), b), /at most/);
});

test('a backing that refuses (unmapped underneath) is reported as unmapped', () => {
  const m = new GrantedMemory([{ gpa: 0n, size: 0x100n, writable: true }], { read: () => false, write: () => false });
  assert.equal(fault(() => m.read32(0n)), 'unmapped');
  assert.equal(fault(() => m.write32(0n, 0)), 'unmapped');
});
