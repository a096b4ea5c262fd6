// The Gunyah console ttys against a fake RM: /dev/ttyGH0 and the loop-back port, open/close as RM
// console calls, writes chunked to 228 bytes, console-chars notifications as input (bad ones dropped),
// VM exit hangs the tty up, a Duplex round trip, kernel messages on the console.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { Errno, O } from '../../core/index';
import { RM_MSG, RM_NOTIF } from '../../drivers/virt/index';
import { GhConsoleToken, gunyahConsoleModule, type GhConsoleClient } from '../../drivers/tty/index';
import { pump, setupRm } from './helpers/fake-rm-kernel';

const chars = (vmid: number, s: string | Uint8Array, claim?: number) => {
  const b = typeof s === 'string' ? new TextEncoder().encode(s) : s;
  const p = new Uint8Array(4 + b.length);
  const dv = new DataView(p.buffer);
  dv.setUint16(0, vmid, true);
  dv.setUint16(2, claim ?? b.length, true);
  p.set(b, 4);
  return p;
};

async function setup() {
  const env = await setupRm(1, [gunyahConsoleModule], (req) => (req.msgId === RM_MSG.VM_GET_VMID ? { data: Uint8Array.of(3, 0, 0, 0) } : { err: 0 }));
  const console = env.k.get<GhConsoleClient>(GhConsoleToken).console()!;
  return { ...env, console };
}

test('ports: ttyGH0 for this VM and the loop-back port of its VMID; open and close are RM calls', async () => {
  const { m, k, rm, console } = await setup();
  assert.ok(console);
  const devs = k.vfs.listDev().filter((d) => d.startsWith('/dev/ttyGH'));
  assert.deepEqual(devs, ['/dev/ttyGH0', '/dev/ttyGH3']);
  const p = k.spawn('getty');
  const fd = await pump(m, p.open('/dev/ttyGH0', O.RDWR));
  await m.settle();
  await pump(m, p.close(fd));
  await m.settle();
  const calls = rm.requests.map((r) => r.msgId);
  assert.deepEqual(calls.filter((c) => c === RM_MSG.VM_CONSOLE_OPEN || c === RM_MSG.VM_CONSOLE_CLOSE), [RM_MSG.VM_CONSOLE_OPEN, RM_MSG.VM_CONSOLE_CLOSE]);
  assert.deepEqual([...rm.requests.find((r) => r.msgId === RM_MSG.VM_CONSOLE_OPEN)!.payload], [0, 0, 0, 0]);
  await pump(m, k.shutdown());
});

test('writes go out as CONSOLE_WRITEs of at most 228 bytes; input arrives from console-chars', async () => {
  const { m, k, rm } = await setup();
  const p = k.spawn('sh');
  const fd = await pump(m, p.open('/dev/ttyGH3', O.RDWR));
  const text = 'x'.repeat(500);
  assert.equal(await pump(m, p.writeBytes(fd, new TextEncoder().encode(text))), 500);
  const writes = rm.requests.filter((r) => r.msgId === RM_MSG.VM_CONSOLE_WRITE);
  assert.deepEqual(writes.map((r) => new DataView(r.payload.buffer).getUint16(2, true)), [228, 228, 44]);
  assert.deepEqual(writes.map((r) => new DataView(r.payload.buffer).getUint16(0, true)), [3, 3, 3]);
  rm.notify(RM_NOTIF.VM_CONSOLE_CHARS, chars(3, 'hello\n'));
  await m.settle();
  assert.equal(new TextDecoder().decode(await pump(m, p.readBytes(fd, 64))), 'hello\n');
  // A failing RM write is EAGAIN to the writer.
  rm.behaviour = () => ({ err: 3 });
  const failed = await pump(m, p.writeBytes(fd, new Uint8Array([1])).catch((e: unknown) => e));
  assert.ok(Errno.is(failed, 'EAGAIN'));
  await pump(m, k.shutdown());
});

test('bad console-chars notifications are logged and dropped', async () => {
  const { m, k, rm, console } = await setup();
  rm.notify(RM_NOTIF.VM_CONSOLE_CHARS, chars(0x42, 'nobody home'));
  rm.notify(RM_NOTIF.VM_CONSOLE_CHARS, chars(0, 'abc', 200));
  rm.notify(RM_NOTIF.VM_CONSOLE_CHARS, Uint8Array.of(0, 0));
  await m.settle();
  assert.equal(console.dropped, 3);
  const log = k.dmesg();
  assert.match(log, /ttyGH: dropped console chars for VM 66, which has no ttyGH port/);
  assert.match(log, /ttyGH: dropped console chars for VM 0: 200 bytes announced, 3 present/);
  assert.match(log, /ttyGH: dropped console chars notification of 2 bytes/);
  await pump(m, k.shutdown());
});

test('a VM exit hangs its tty up: reads see EOF, the node goes away', async () => {
  const { m, k, rm, console } = await setup();
  const tty = console.addVm(0x80);
  const p = k.spawn('vmm');
  const fd = await pump(m, p.open('/dev/ttyGH128', O.RDWR));
  await m.settle();
  const reading = p.readBytes(fd, 10);
  const exited = new Uint8Array(8);
  new DataView(exited.buffer).setUint16(0, 0x80, true);
  rm.notify(RM_NOTIF.VM_EXITED, exited);
  await m.settle();
  assert.equal((await reading).length, 0);
  assert.equal(tty.hungUp, true);
  assert.ok(!k.vfs.listDev().includes('/dev/ttyGH128'));
  await assert.rejects(pump(m, p.writeBytes(fd, new Uint8Array([1]))), (e: unknown) => Errno.is(e, 'EIO'));
  await pump(m, k.shutdown());
});

test('Duplex round trip: a program pipes into ttyGH3 and reads what the peer sends', async () => {
  const { m, k, rm, console } = await setup();
  const d = k.tty.duplex(console.tty(3)!);
  const out: Buffer[] = [];
  d.pipe(new Writable({ write: (c: Buffer, _e, cb) => (out.push(c), cb()) }));
  const src = new PassThrough();
  src.pipe(d);
  src.write('ping');
  await m.advance(5_000_000);
  const w = rm.requests.filter((r) => r.msgId === RM_MSG.VM_CONSOLE_WRITE).pop()!;
  assert.equal(new TextDecoder().decode(w.payload.subarray(4)), 'ping');
  rm.notify(RM_NOTIF.VM_CONSOLE_CHARS, chars(3, 'pong'));
  await m.settle();
  await new Promise((r) => setImmediate(r));
  assert.equal(Buffer.concat(out).toString(), 'pong');
  await pump(m, k.shutdown());
});

test('kernel messages go to the VM console while ttyGH0 is open', async () => {
  const { m, k, rm } = await setup();
  const p = k.spawn('init');
  await pump(m, p.open('/dev/ttyGH0', O.WRONLY));
  await m.settle();
  k.printk.info('hello console');
  await m.advance(5_000_000);
  const text = rm.requests
    .filter((r) => r.msgId === RM_MSG.VM_CONSOLE_WRITE)
    .map((r) => new TextDecoder().decode(r.payload.subarray(4)))
    .join('');
  assert.match(text, /\] hello console\n/);
  await pump(m, k.shutdown());
});
