// The CBOR codec and the boot environment: golden bytes, 64-bit exactness, typed errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cborDecode, cborEncode, CborError, decodeBootEnv, type CborValue } from '../../../firmware/hypervisor/index';
import { runRoot } from './harness';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('encodes the shortest forms (RFC 8949 appendix A values)', () => {
  assert.equal(hex(cborEncode(0n)), '00');
  assert.equal(hex(cborEncode(23n)), '17');
  assert.equal(hex(cborEncode(24n)), '1818');
  assert.equal(hex(cborEncode(1000n)), '1903e8');
  assert.equal(hex(cborEncode(1000000n)), '1a000f4240');
  assert.equal(hex(cborEncode(0xffff_ffff_ffff_ffffn)), '1bffffffffffffffff');
  assert.equal(hex(cborEncode(-1n)), '20');
  assert.equal(hex(cborEncode(-1000n)), '3903e7');
  assert.equal(hex(cborEncode('IETF')), '6449455446');
  assert.equal(hex(cborEncode(new Uint8Array([1, 2, 3, 4]))), '4401020304');
  assert.equal(hex(cborEncode([1n, [2n, 3n], [4n, 5n]])), '8301820203820405');
  assert.equal(hex(cborEncode(new Map<string, CborValue>([['a', 1n], ['b', [2n, 3n]]]))), 'a26161016162820203');
  assert.equal(hex(cborEncode([false, true, null])), '83f4f5f6');
  assert.throws(() => cborEncode(1.5), RangeError);
  assert.throws(() => cborEncode(1n << 64n), RangeError);
});

test('decodes round trips exactly, 64-bit values included', () => {
  const v = new Map<string, CborValue>([
    ['big', 0x8000_0000_0000_0001n],
    ['neg', -0x8000_0000_0000_0000n],
    ['s', 'µs'],
    ['b', new Uint8Array([0, 255])],
    ['l', [true, null, new Map([['x', 0n]])]],
  ]);
  assert.deepEqual(cborDecode(cborEncode(v)), v);
});

test('bad input is a CborError with the offset, telling truncation from malformation', () => {
  const truncated = (h: string) => {
    const e = (() => {
      try {
        cborDecode(Buffer.from(h, 'hex'));
      } catch (x) {
        return x;
      }
      return undefined;
    })();
    assert.ok(e instanceof CborError, h);
    return e;
  };
  assert.equal(truncated('1a000f42').truncated, true);
  assert.equal(truncated('62').truncated, true);
  assert.equal(truncated('1c').truncated, false, 'reserved additional info');
  assert.equal(truncated('9f').truncated, false, 'indefinite length');
  assert.equal(truncated('c0').truncated, false, 'tag');
  assert.equal(truncated('f93c00').truncated, false, 'half float');
  assert.equal(truncated('0000').offset, 1, 'trailing byte');
  assert.equal(truncated('a201000100').truncated, false, 'integer map key');
  assert.equal(truncated('a2616100616100').truncated, false, 'duplicate key');
  assert.equal(truncated('62c328').truncated, false, 'invalid UTF-8');
  // Limits are checked before allocating: a 2^32-item array header fails at once.
  assert.match(truncated('9affffffff').message, /exceeds the limit/);
  assert.match(truncated('5bffffffffffffffff').message, /exceeds the limit/);
  let deep = '';
  for (let i = 0; i < 40; i++) deep += '81';
  assert.match(truncated(`${deep}00`).message, /nesting/);
  assert.throws(() => cborDecode(new Uint8Array(4), 3, 5), RangeError);
});

test('the boot environment the root VM receives decodes with every key', async () => {
  await runRoot(async (cpu, env) => {
    assert.equal(env.ipa_offset, 0n);
    assert.equal(env.gicr_stride, 0x20000n);
    assert.equal(env.watchdog_supported, false);
    assert.equal(env.usable_cores, 3n);
    assert.ok(env.ddr_me_size > 0n);
    assert.equal(env.me_size, 0x100_0000n);
    // x0/x1 still hold the env location; decoding a damaged copy fails cleanly.
    const bytes = new Uint8Array(64);
    assert.throws(() => decodeBootEnv(bytes), CborError);
    void cpu;
  });
});
