// Differential fuzzing against dtc: random sources (merges, deletes, labels, references, plugins) compile to
// dtc's bytes when dtc accepts them, and fail when dtc refuses them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compileDts, DtsError, toFdt } from '../../../dt/index';
import { needTool } from '../helpers';
import { assertSameBytes, dtc } from './helpers';
import { randomSource } from './random-source';

test('random sources: the same blob as dtc, or an error where dtc has one', { skip: needTool('dtc') }, () => {
  let accepted = 0;
  fc.assert(
    fc.property(fc.nat(), fc.boolean(), (seed, symbols) => {
      const src = randomSource(seed);
      const theirs = dtc(src, {}, symbols ? ['-@'] : []);
      let ours: Uint8Array | DtsError;
      try {
        ours = toFdt(compileDts(src, { fileName: 'test.dts', symbols, readFile: () => undefined }).tree);
      } catch (err) {
        if (!(err instanceof DtsError)) throw err;
        ours = err;
      }
      if (theirs.ok && ours instanceof DtsError && /the root node cannot be deleted/.test(ours.message)) {
        // A documented difference: dtc writes a blob without a root node, we refuse.
        return;
      }
      if (theirs.ok) {
        assert.ok(ours instanceof Uint8Array, `dtc accepted, we said: ${ours instanceof DtsError ? ours.message : ''}\n${src}`);
        assertSameBytes(ours, theirs.blob, `seed ${seed}\n${src}`);
        accepted++;
      } else {
        assert.ok(ours instanceof DtsError, `dtc refused (${theirs.stderr.trim()}), we compiled:\n${src}`);
      }
    }),
    { seed: 0x5eed, numRuns: 400 },
  );
  // The generator must exercise the success path, not only errors.
  assert.ok(accepted > 30, `only ${accepted} of the random sources compiled`);
});
