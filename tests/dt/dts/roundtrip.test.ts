// Property test: a random tree printed as DTS by the library (toDts) and compiled back is the same tree,
// labels included, in both of toDts's dialects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compileDts, toDts, type DeviceTree } from '../../../dt/index';
import { assertSameTree, deviceTree } from '../arbitrary';

/** Drop what dtc itself would refuse on the way back (a `phandle` that is not one distinct valid cell). */
function withoutPhandles(t: DeviceTree): DeviceTree {
  for (const n of t.walk()) {
    n.removeProperty('phandle');
    n.removeProperty('linux,phandle');
  }
  return t;
}

/**
 * Give every third node a label (`l0`, `l1`, ...), some two, so that labels go through the printer too. Not the
 * root: dtc prints its labels, but dtc's grammar has no place for them (only `l: &{/} { };`).
 */
function labelled(t: DeviceTree): DeviceTree {
  let i = 0;
  for (const n of t.walk()) {
    if (n === t.root) continue;
    if (i % 3 === 0) n.labels.push(`l${i}`);
    if (i % 7 === 0) n.labels.push(`m${i}`);
    i++;
  }
  return t;
}

const trees = deviceTree.map((t) => labelled(withoutPhandles(t)));

/**
 * dtc 1.6's printer writes the NUL between two strings as `\0`; when the next string starts with an octal digit
 * the text reads back as one longer escape (`"a\01"`), so dtc 1.6 cannot round-trip such a value either.
 */
function octalAfterNul(t: DeviceTree): boolean {
  for (const n of t.walk()) {
    for (const p of n.properties) {
      const v = p.value;
      for (let i = 0; i + 1 < v.length; i++) if (v[i] === 0 && v[i + 1]! >= 0x30 && v[i + 1]! <= 0x37) return true;
    }
  }
  return false;
}

for (const dialect of ['1.6', '1.7'] as const) {
  test(`random trees survive toDts (dialect ${dialect}) and compileDts unchanged`, () => {
    fc.assert(
      fc.property(dialect === '1.6' ? trees.filter((t) => !octalAfterNul(t)) : trees, (tree) => {
        const text = toDts(tree, { dialect });
        const back = compileDts(text, { fileName: 'printed.dts' }).tree;
        // dtc's printer does not carry the boot CPU; the compiler guesses it from /cpus.
        back.bootCpuidPhys = tree.bootCpuidPhys;
        assertSameTree(back, tree);
        const labels = (t: DeviceTree) => [...t.walk()].map((n) => [n.path, [...n.labels]]);
        assert.deepEqual(labels(back), labels(tree));
      }),
      { seed: 20240607, numRuns: 300 },
    );
  });
}
