// The tty layer: writes chunked to the backend's write room (waiting for room), the read stream, a Node
// Duplex round trip through stream.pipeline, canonical mode with echo and editing, termios ioctls
// through /dev, and hang-up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Errno, LFLAG, MAP, O, PAGE_SIZE, PROT, TCGETS, TCSETS, TIOCGWINSZ, stdTermios, termiosStruct, winsizeStruct, type Tty, type TtyDriver } from '../../core/index';
import { bootFake } from './helpers/kernel';

/** A console-like backend: takes at most `room` bytes per write, room refills when `drain` is called. */
function backend(room = 4) {
  const out: number[][] = [];
  let avail = room;
  const driver: TtyDriver = {
    name: 'ttyT',
    numPorts: 4,
    ops: {
      writeRoom: () => avail,
      write: (_t, data) => {
        const n = Math.min(avail, data.length);
        out.push([...data.subarray(0, n)]);
        avail -= n;
        return n;
      },
    },
  };
  return {
    driver,
    out,
    drain(tty: Tty) {
      avail = room;
      tty.wakeup();
    },
  };
}

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

test('write respects write room: chunks of at most room bytes, waiting for tty_wakeup', async () => {
  const { m, k } = await bootFake();
  const be = backend(4);
  k.tty.registerDriver(be.driver);
  const tty = k.tty.registerDevice(be.driver, 0);
  let done = false;
  const w = tty.write(enc('hello world!')).then((n) => ((done = true), n));
  await m.settle();
  assert.deepEqual(be.out, [[...enc('hell')]]);
  assert.equal(done, false);
  be.drain(tty);
  await m.settle();
  be.drain(tty);
  assert.equal(await w, 12);
  assert.equal(dec(Uint8Array.from(be.out.flat())), 'hello world!');
  assert.ok(be.out.every((c) => c.length <= 4));
  // Nonblocking with no room: EAGAIN.
  await assert.rejects(tty.write(enc('x'), { nonblock: true }), (e: unknown) => Errno.is(e, 'EAGAIN'));
  await k.shutdown();
});

test('Duplex round trip through stream.pipeline; the read stream completes on hang-up', async () => {
  const { k } = await bootFake();
  const be = backend(1 << 20);
  k.tty.registerDriver(be.driver);
  const tty = k.tty.registerDevice(be.driver, 1);
  const d = k.tty.duplex(tty);
  const streamed: string[] = [];
  let completed = false;
  tty.read$.subscribe({ next: (b) => streamed.push(dec(b)), complete: () => (completed = true) });
  // Input from the backend comes out of the Duplex's readable side...
  const collected: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      collected.push(chunk);
      cb();
    },
  });
  const reading = pipeline(d, sink);
  tty.receive(enc('from the VM\n'));
  tty.receive(enc('second'));
  // ...and what is piped into it goes out through the driver.
  const src = new PassThrough();
  src.pipe(d);
  src.end('to the VM');
  await new Promise((r) => setImmediate(r));
  assert.equal(dec(Uint8Array.from(be.out.flat())), 'to the VM');
  k.tty.unregisterDevice(tty);
  await reading;
  assert.equal(Buffer.concat(collected).toString(), 'from the VM\nsecond');
  assert.deepEqual(streamed, ['from the VM\n', 'second']);
  assert.equal(completed, true);
  // After hang-up: what was buffered can still be read, then EOF; writes are EIO; input is dropped.
  tty.receive(enc('dropped'));
  assert.equal(dec(await tty.read(100)), 'from the VM\nsecond');
  assert.equal((await tty.read(10)).length, 0);
  await assert.rejects(tty.write(enc('late')), (e: unknown) => Errno.is(e, 'EIO'));
  await k.shutdown();
});

test('canonical mode: lines, erase/kill editing, EOF, ICRNL, echo and ONLCR', async () => {
  const { k } = await bootFake();
  const be = backend(1 << 20);
  k.tty.registerDriver(be.driver);
  const tty = k.tty.registerDevice(be.driver, 2);
  tty.setTermios(stdTermios());
  tty.receive(enc('helo\x7flo wor'));
  assert.equal(tty.inq, 0); // no complete line yet
  tty.receive(enc('ld\r'));
  assert.equal(dec(await tty.read(100)), 'hello world\n');
  tty.receive(enc('junk\x15ok\n'));
  assert.equal(dec(await tty.read(100)), 'ok\n');
  tty.receive(enc('two\nlines\n'));
  assert.equal(dec(await tty.read(100)), 'two\n'); // one line per read
  assert.equal(dec(await tty.read(100)), 'lines\n');
  tty.receive(enc('tail\x04'));
  assert.equal(dec(await tty.read(100)), 'tail');
  tty.receive(enc('\x04'));
  assert.equal((await tty.read(100)).length, 0); // EOF
  // Echo: input characters, erase as backspace-space-backspace, output NL as CR NL.
  await new Promise((r) => setImmediate(r));
  const echoed = dec(Uint8Array.from(be.out.flat()));
  assert.ok(echoed.startsWith('helo\b \blo world\r\n'), JSON.stringify(echoed));
  await k.shutdown();
});

test('through /dev: read/write syscalls, TCGETS/TCSETS and window size ioctls, ENOTTY', async () => {
  const { k } = await bootFake();
  const be = backend(1 << 20);
  k.tty.registerDriver(be.driver);
  const tty = k.tty.registerDevice(be.driver, 3);
  assert.ok(k.vfs.listDev().includes('/dev/ttyT3'));
  const p = k.spawn('sh');
  const fd = await p.open('/dev/ttyT3', O.RDWR);
  const buf = await p.mmap(PAGE_SIZE, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS);
  await p.ioctl(fd, TCGETS, buf);
  const t = termiosStruct.decode(p.copyFromUser(buf, termiosStruct.size));
  assert.equal(t.c_lflag & LFLAG.ICANON, 0); // raw by default
  p.copyToUser(buf, termiosStruct.encode({ ...t, c_lflag: t.c_lflag | LFLAG.ICANON }));
  await p.ioctl(fd, TCSETS, buf);
  assert.equal(tty.ldisc.canonical, true);
  await p.ioctl(fd, TIOCGWINSZ, buf);
  assert.deepEqual(winsizeStruct.decode(p.copyFromUser(buf, 8)), { ws_row: 24, ws_col: 80, ws_xpixel: 0, ws_ypixel: 0 });
  await assert.rejects(p.ioctl(fd, 0x4700), (e: unknown) => Errno.is(e, 'ENOTTY'));
  assert.equal(await p.writeBytes(fd, enc('ls\n')), 3);
  assert.equal(dec(Uint8Array.from(be.out.flat())), 'ls\n'); // raw output (no OPOST in default termios)
  tty.receive(enc('answer\n'));
  assert.equal(dec(await p.readBytes(fd, 64)), 'answer\n');
  k.tty.unregisterDevice(tty);
  assert.equal((await p.readBytes(fd, 64)).length, 0);
  await assert.rejects(p.open('/dev/ttyT3'), (e: unknown) => Errno.is(e, 'ENOENT'));
  await k.shutdown();
});

test('driver registration errors', async () => {
  const { k } = await bootFake();
  const be = backend();
  k.tty.registerDriver(be.driver);
  assert.throws(() => k.tty.registerDriver(be.driver), (e: unknown) => Errno.is(e, 'EEXIST'));
  assert.throws(() => k.tty.registerDevice(be.driver, 9), (e: unknown) => Errno.is(e, 'EINVAL'));
  k.tty.registerDevice(be.driver, 0);
  assert.throws(() => k.tty.registerDevice(be.driver, 0), (e: unknown) => Errno.is(e, 'EEXIST'));
  assert.throws(() => k.tty.registerDriver({ ...be.driver, name: 'bad name' }), (e: unknown) => Errno.is(e, 'EINVAL'));
  await k.shutdown();
});
