// The corruption suite: every kind of malformed blob is a DtbError naming the problem and its offset,
// found without large allocations; random damage never escapes as anything but DtbError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DeviceTree, DtbError, parseFdt, toFdt, FdtReader, FDT_END, FDT_NOP, FDT_BEGIN_NODE } from '../../dt';
import { fixture } from './helpers';

/** A small valid blob and its layout: / { a = <1>; n@1 { s = "xy"; }; }; with one /memreserve/. */
function sample(): { blob: Uint8Array; dv: DataView; struct: number; strings: number; rsv: number } {
  const t = new DeviceTree();
  t.memReserve.push({ address: 0x1000n, size: 0x1000n });
  t.root.setU32('a', 1);
  t.root.addChild('n@1').setString('s', 'xy');
  const blob = toFdt(t);
  const dv = new DataView(blob.buffer);
  return { blob, dv, struct: dv.getUint32(8), strings: dv.getUint32(12), rsv: dv.getUint32(16) };
}
// Structure block of the sample, by offset from its start:
//  0 BEGIN_NODE, 4 "" (padded), 8 PROP, 12 len=4, 16 nameoff=0 ("a"), 20 value,
// 24 BEGIN_NODE, 28 "n@1\0", 32 PROP, 36 len=3, 40 nameoff=2 ("s"), 44 "xy\0" pad,
// 48 END_NODE, 52 END_NODE, 56 END

function expectDtb(bytes: Uint8Array, message: RegExp, offset: number, opts = {}): void {
  assert.throws(
    () => parseFdt(bytes, opts),
    (e: unknown) => {
      assert.ok(e instanceof DtbError, `expected DtbError, got ${String(e)}`);
      assert.match(e.message, message);
      assert.equal(e.offset, offset, `offset of "${e.message}"`);
      return true;
    },
  );
}

test('the sample parses (the corruptions below are the only fault)', () => {
  const { blob, struct } = sample();
  assert.equal(struct, 40 + 32);
  assert.equal(parseFdt(blob).findNode('/n@1')!.string('s'), 'xy');
});

test('header: truncation, magic, sizes, versions', () => {
  const { blob } = sample();
  expectDtb(new Uint8Array(0), /truncated/, 0);
  expectDtb(blob.slice(0, 20), /shorter than a version 16 header/, 20);
  const bad = blob.slice();
  bad[0] = 0xde;
  expectDtb(bad, /bad magic 0xde0dfeed/, 0);
  expectDtb(blob.slice(0, blob.length - 1), /blob truncated: totalsize is \d+ but only \d+ bytes/, blob.length - 1);
  const set = (field: number, v: number) => {
    const b = blob.slice();
    new DataView(b.buffer).setUint32(field, v);
    return b;
  };
  expectDtb(set(4, 0xffffffff), /totalsize 4294967295 is over the limit/, 4);
  expectDtb(set(4, 16), /smaller than the 40-byte header/, 4);
  expectDtb(set(20, 15), /unsupported version 15/, 20);
  expectDtb(set(24, 18), /last_comp_version 18 is newer than 17/, 24);
  expectDtb(blob, /over the limit of 100 bytes/, 4, { limits: { maxTotalSize: 100 } });
});

test('block offsets: misaligned, past the end, overlapping, unterminated reservation map', () => {
  const { blob, struct, strings, rsv } = sample();
  const set = (field: number, v: number) => {
    const b = blob.slice();
    new DataView(b.buffer).setUint32(field, v);
    return b;
  };
  expectDtb(set(8, struct + 2), /off_dt_struct 0x4a is misaligned/, 8);
  expectDtb(set(16, rsv + 4), /off_mem_rsvmap 0x2c is misaligned/, 16);
  expectDtb(set(8, 0x10), /off_dt_struct 0x10 overlaps the header/, 8);
  expectDtb(set(12, blob.length + 4), /off_dt_strings .* is past totalsize/, 12);
  expectDtb(set(32, 0x1000), /strings block .* runs past totalsize/, 32);
  expectDtb(set(36, 0x1000), /structure block .* runs past totalsize/, 36);
  expectDtb(set(36, 30), /size_dt_struct 30 is not a multiple of 4/, 36);
  expectDtb(set(12, struct + 8), /structure block .* overlaps the strings block/, 12);
  expectDtb(set(8, struct - 8), /memory reservation map \[0x28, 0x48\) overlaps the structure block/, 8);
  // a reservation map whose entries never end: it starts 16 bytes before the end, in a non-zero entry,
  // and the next entry would run past totalsize
  const noEnd = blob.slice();
  const mapAt = (blob.length - 16) & ~7;
  noEnd.fill(0xff, mapAt, blob.length);
  new DataView(noEnd.buffer).setUint32(16, mapAt);
  new DataView(noEnd.buffer).setUint32(32, 0); // empty strings block, out of the way
  expectDtb(noEnd, /memory reservation map runs past totalsize/, mapAt + 16);
});

test('structure block: tokens, names, lengths, nesting', () => {
  const { blob, struct, strings } = sample();
  const at = (rel: number, v: number) => {
    const b = blob.slice();
    new DataView(b.buffer).setUint32(struct + rel, v);
    return b;
  };
  expectDtb(at(8, 0x7), /unknown token 0x00000007/, struct + 8);
  expectDtb(at(16, 0x100), /name offset 256 is outside the strings block/, struct + 16);
  expectDtb(at(12, 0xfffffff0), /property length 4294967280 is over the limit/, struct + 12);
  expectDtb(at(12, 0x1000), /property value of 4096 bytes runs past the structure block/, struct + 12);
  expectDtb(at(48, FDT_END), /FDT_END inside an open node/, struct + 48);
  expectDtb(at(0, FDT_END), /FDT_END before any node/, struct);
  expectDtb(at(56, FDT_NOP), /structure block ends without FDT_END/, struct + 60);
  expectDtb(at(56, FDT_BEGIN_NODE), /second root node/, struct + 56);
  expectDtb(at(0, 3), /property outside any node/, struct);
  expectDtb(at(52, 2 /* END_NODE */) && at(56, 2), /FDT_END_NODE without an open node/, struct + 56);
  // unterminated node name: "n@1\0" -> "n@1x" and no NUL until the block's end
  const unterminated = blob.slice();
  unterminated.fill(0x41, struct + 28, strings);
  expectDtb(unterminated, /unterminated node name/, struct + 28);
  // unterminated property name: the strings block loses its last NUL
  const noNul = blob.slice();
  noNul[noNul.length - 1] = 0x41;
  expectDtb(noNul, /property name at strings offset 2 is not NUL-terminated/, struct + 40);
  // names
  const slash = blob.slice();
  slash[struct + 29] = 0x2f;
  expectDtb(slash, /node name contains '\/'/, struct + 29);
  const empty = blob.slice();
  empty[struct + 28] = 0;
  expectDtb(empty, /empty node name/, struct + 28);
  const rootName = blob.slice();
  rootName[struct + 4] = 0x72;
  rootName[struct + 5] = 0;
  expectDtb(rootName, /root node has a name/, struct + 4);
  const latin = blob.slice();
  latin[struct + 28] = 0xff;
  expectDtb(latin, /not valid UTF-8/, struct + 28);
  // depth over the limit
  expectDtb(blob, /nesting deeper than the limit of 0/, struct + 24, { limits: { maxDepth: 0 } });
  expectDtb(blob, /property length 4 is over the limit of 3 bytes/, struct + 12, { limits: { maxPropertySize: 3 } });
});

test('duplicate names are rejected', () => {
  const t = new DeviceTree();
  t.root.setU32('a', 1);
  t.root.setU32('b', 2);
  t.root.addChild('x');
  t.root.addChild('y');
  const blob = toFdt(t);
  const dup = blob.slice();
  const dv = new DataView(dup.buffer);
  const struct = dv.getUint32(8);
  // second property's name offset := first's; second child's name "y" := "x"
  dv.setUint32(struct + 32, dv.getUint32(struct + 16));
  expectDtb(dup, /duplicate property name "a" in \//, struct + 24);
  const dupNode = blob.slice();
  const i = dupNode.indexOf(0x79, struct);
  dupNode[i] = 0x78;
  expectDtb(dupNode, /duplicate node name "x" in \//, i);
  // many siblings: the Set path
  const wide = new DeviceTree();
  for (let k = 0; k < 40; k++) wide.root.addChild(`c${k}`).setU32('p', k);
  const wb = toFdt(wide);
  const j = wb.lastIndexOf(0x39, wb.length - 1 - new DataView(wb.buffer).getUint32(32)); // "c39" -> "c38"
  wb[j] = 0x38;
  expectDtb(wb, /duplicate node name "c38"/, j - 2);
});

test('version 16 blobs (no size_dt_struct) parse', () => {
  const { blob } = sample();
  const v16 = blob.slice();
  const dv = new DataView(v16.buffer);
  dv.setUint32(20, 16);
  assert.equal(parseFdt(v16).findNode('/n@1')!.string('s'), 'xy');
  assert.equal(new FdtReader(v16).header.size_dt_struct, 0);
});

test('fuzz: damaged blobs throw DtbError or parse, never anything else', () => {
  const seeds = [fixture('dtc/features.dtb'), fixture('qemu/virt-default.dtb'), sample().blob];
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: seeds.length - 1 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
      fc.option(fc.nat(), { nil: undefined }),
      (which, edits, cut) => {
        const src = seeds[which]!;
        let b = src.slice();
        for (const [pos, val] of edits) b[pos % b.length] = val;
        if (cut !== undefined) b = b.slice(0, cut % (b.length + 1));
        try {
          const t = parseFdt(b);
          // whatever parsed must serialize and parse back to the same tree
          const again = parseFdt(toFdt(t, { strings: 'dtc' }));
          assert.equal([...again.walk()].length, [...t.walk()].length);
        } catch (e) {
          if (!(e instanceof DtbError)) throw e;
        }
      },
    ),
    { seed: 0x5eed, numRuns: 3000 },
  );
});
