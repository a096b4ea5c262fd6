// printk: levels, the byte-bounded ring, the live stream, consoles below console_loglevel, the /dev/kmsg
// record format and reader semantics (one record per read, EINVAL for a short buffer, EPIPE when records
// were lost, writes with a <N> prefix), and the ratelimit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Errno, MAP, O, PAGE_SIZE, PROT, PrintkImpl, Ratelimit, formatDmesgLine, formatKmsgRecord, type LogRecord } from '../../core/index';
import { bootFake } from './helpers/kernel';

test('records carry level, sequence and virtual time; dmesg and kmsg formats', () => {
  let now = 1_234_567_890;
  const p = new PrintkImpl(() => now);
  p.err('disk on fire');
  now += 1000;
  p.info('tab\there \\ done');
  const [a, b] = p.records() as [LogRecord, LogRecord];
  assert.deepEqual([a.seq, a.level, a.facility], [0, 3, 0]);
  assert.equal(formatDmesgLine(a), '[    1.234567] disk on fire');
  assert.equal(formatKmsgRecord(a), '3,0,1234567,-;disk on fire\n');
  assert.equal(formatKmsgRecord(b), '6,1,1234568,-;tab\\x09here \\x5c done\n');
});

test('the ring drops the oldest records past its size; streams and consoles see new records', () => {
  const p = new PrintkImpl(() => 0, 1000);
  const live: string[] = [];
  p.stream().subscribe((r) => live.push(r.text));
  const cons: string[] = [];
  p.registerConsole((_r, line) => cons.push(line));
  for (let i = 0; i < 50; i++) p.log(i % 2 === 0 ? 6 : 7, `message number ${i}`);
  const held = p.records();
  assert.ok(held.length < 50 && held.length > 5);
  assert.equal(held[held.length - 1]!.text, 'message number 49');
  assert.equal(p.firstSeq, held[0]!.seq);
  assert.equal(live.length, 50);
  // console_loglevel 7: KERN_DEBUG (7) records do not reach consoles.
  assert.equal(cons.length, 25);
  const replayed: number[] = [];
  p.stream(true).subscribe((r) => replayed.push(r.seq));
  assert.deepEqual(replayed, held.map((r) => r.seq));
  assert.equal(p.log(6, 'x'.repeat(5000)), 50);
  assert.equal(p.recordAt(50)!.text.length, 992); // LOG_LINE_MAX
});

test('/dev/kmsg: one record per read, EINVAL for a short buffer, EPIPE after overrun, writes', async () => {
  const { k } = await bootFake({ boot: { logBufLen: 4096 } });
  const proc = k.spawn('syslogd');
  const fd = await proc.open('/dev/kmsg', O.RDWR | O.NONBLOCK);
  const buf = await proc.mmap(PAGE_SIZE, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS);
  const first = new TextDecoder().decode(await proc.readBytes(fd, 4096));
  assert.match(first, /^5,0,\d+,-;Booting gunyah-ts kernel/);
  await assert.rejects(proc.read(fd, buf, 10), (e: unknown) => Errno.is(e, 'EINVAL'));
  // Drain, then nothing more: EAGAIN (nonblocking).
  for (;;) {
    try {
      await proc.readBytes(fd, 4096);
    } catch (e) {
      assert.ok(Errno.is(e, 'EAGAIN'));
      break;
    }
  }
  await proc.writeBytes(fd, new TextEncoder().encode('<11>user says hi\n'));
  assert.match(new TextDecoder().decode(await proc.readBytes(fd, 4096)), /^11,\d+,\d+,-;user says hi\n$/);
  // A slow reader whose records were overwritten gets EPIPE once, then continues at the oldest record.
  const slow = await proc.open('/dev/kmsg', O.RDONLY | O.NONBLOCK);
  for (let i = 0; i < 200; i++) k.printk.info(`flood ${i}`);
  await assert.rejects(proc.readBytes(slow, 4096), (e: unknown) => Errno.is(e, 'EPIPE'));
  const next = new TextDecoder().decode(await proc.readBytes(slow, 4096));
  assert.match(next, /flood \d+/);
  await k.shutdown();
});

test('ratelimit: a burst per interval, suppressed count reported', () => {
  let now = 0;
  const r = new Ratelimit(() => now, 5e9, 3);
  assert.deepEqual([r.allow(), r.allow(), r.allow()].map((x) => x.ok), [true, true, true]);
  assert.equal(r.allow().ok, false);
  assert.equal(r.allow().ok, false);
  now = 6e9;
  assert.deepEqual(r.allow(), { ok: true, suppressed: 2 });
});
