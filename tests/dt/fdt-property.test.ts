// Property tests over random trees: parse(serialize(t)) == t, and dtc agrees with toFdt's bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bytesEqual, parseFdt, toFdt } from '../../dt';
import { assertSameTree, deviceTree } from './arbitrary';
import { firstDiff, needTool, runTool } from './helpers';

test('parse(toFdt(t)) is t, and toFdt of that is the same blob', () => {
  fc.assert(
    fc.property(deviceTree, (t) => {
      const blob = toFdt(t);
      const back = parseFdt(blob);
      assertSameTree(back, t);
      assert.ok(bytesEqual(toFdt(back), blob));
      assert.ok(bytesEqual(toFdt(back, { strings: 'dtc' }), blob));
    }),
    { seed: 20240601, numRuns: 400 },
  );
});

test('differential: dtc -I dtb -O dtb rewrites toFdt output to the same bytes', { skip: needTool('dtc') }, () => {
  fc.assert(
    fc.property(deviceTree, (t) => {
      const blob = toFdt(t);
      // -f: random trees may break dtc's semantic checks (unit address vs reg and so on)
      const { outputs } = runTool('dtc', (d) => ['-q', '-f', '-I', 'dtb', '-O', 'dtb', '-o', `${d}/o.dtb`, `${d}/i.dtb`], { 'i.dtb': blob }, ['o.dtb']);
      assert.ok(bytesEqual(outputs[0]!, blob), firstDiff(outputs[0]!, blob));
    }),
    { seed: 777, numRuns: 60 },
  );
});
