// FdtCursor: libfdt's read API over a checked blob, without building a tree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DtbError, FDT_ERR, FdtCursor, fdtStrerror, parseFdt } from '../../dt';
import { fixture } from './helpers';

test('path, alias, unit-address-less and phandle lookups as libfdt does them', () => {
  const bytes = fixture('dtc/features.dtb');
  const c = FdtCursor.over(bytes);
  const uart = c.pathOffset('/soc/serial@0');
  assert.ok(uart > 0);
  assert.equal(c.pathOffset('serial0'), uart); // alias
  assert.equal(c.pathOffset('/soc/serial'), uart); // first serial@...
  assert.equal(c.pathOffset('/soc//serial@0/'), uart);
  assert.equal(c.pathOffset('/soc/nope'), FDT_ERR.NOTFOUND);
  assert.equal(c.pathOffset('noalias'), FDT_ERR.BADPATH);
  assert.equal(c.getPath(uart), '/soc/serial@0');
  assert.equal(c.getPath(0), '/');
  assert.equal(c.name(uart), 'serial@0');
  assert.equal(c.getString(uart, 'status'), 'okay');
  const reg = c.getProp(uart, 'reg');
  assert.ok(typeof reg !== 'number');
  assert.deepEqual([...c.bytes(reg.data, reg.len)], [0, 0, 0, 0, 0, 0, 0x10, 0]);
  assert.equal(c.getProp(uart, 'absent'), FDT_ERR.NOTFOUND);
  const t = parseFdt(bytes);
  assert.equal(c.maxPhandle(), t.maxPhandle());
  const gic = t.findNode('/intc@8000000')!;
  assert.equal(c.getPath(c.nodeByPhandle(gic.phandle!)), '/intc@8000000');
  assert.equal(c.nodeByPhandle(0), FDT_ERR.BADPHANDLE);
  assert.deepEqual(
    c.subnodes(c.pathOffset('/cpus')).map((o) => c.name(o)),
    ['cpu@0', 'cpu@1'],
  );
  assert.equal(fdtStrerror(FDT_ERR.BADOVERLAY), 'FDT_ERR_BADOVERLAY');
});

test('a malformed blob is refused before any lookup', () => {
  const bad = fixture('dtc/features.dtb').slice();
  bad[bad.length - 1] = 0x41; // strings block loses its last NUL
  assert.throws(() => FdtCursor.over(bad), DtbError);
});
