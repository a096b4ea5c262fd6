import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConsoleMux, MAX_LINE } from '../../../../tools/cli/run/console-mux';

const enc = (s: string) => new TextEncoder().encode(s);

test('console mux: lines from chunks, names padded, partial lines held until newline or end', () => {
  let out = '';
  const m = new ConsoleMux((s) => (out += s), { color: false, names: ['a', 'gamma'] });
  m.write('a', enc('hel'));
  m.write('gamma', enc('one\r\ntw'));
  m.write('a', enc('lo\n'));
  assert.equal(out, 'gamma | one\na     | hello\n');
  m.end('gamma');
  assert.equal(out, 'gamma | one\na     | hello\ngamma | tw\n');
  assert.equal(m.bytes.get('a'), 6);
});

test('console mux: a UTF-8 sequence split across chunks, control characters shown, long lines cut', () => {
  let out = '';
  const m = new ConsoleMux((s) => (out += s), { color: false, names: ['vm'] });
  const bytes = enc('é\x1b[2J\n');
  m.write('vm', bytes.subarray(0, 1));
  m.write('vm', bytes.subarray(1));
  assert.equal(out, 'vm | é^[[2J\n');
  out = '';
  m.write('vm', enc('x'.repeat(MAX_LINE * 2 + 3)));
  assert.equal(out.split('\n').length - 1, 2);
  m.end('vm');
  assert.ok(out.endsWith('vm | xxx\n'));
});

test('console mux: colours per source with a reset', () => {
  let out = '';
  const m = new ConsoleMux((s) => (out += s), { color: true, names: ['a', 'b'] });
  m.line('a', 'x');
  m.line('b', 'y');
  assert.equal(out, '\x1b[36ma |\x1b[0m x\n\x1b[33mb |\x1b[0m y\n');
});
