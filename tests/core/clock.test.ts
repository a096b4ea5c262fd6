// The kernel clock's rxjs scheduler: time-based operators run on virtual time (the vCPU's counter and
// timer interrupt), never on wall time; per-call timeouts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { firstValueFrom, interval, of, timer, NEVER } from 'rxjs';
import { delay, take, timeout, toArray } from 'rxjs/operators';
import { Errno } from '../../core/index';
import { bootFake } from './helpers/kernel';

test('timer, interval, delay and timeout follow the virtual clock', async () => {
  const { m, k } = await bootFake();
  const s = k.clock.scheduler;
  const t0 = s.now();
  const ticks: number[] = [];
  interval(10, s)
    .pipe(take(3))
    .subscribe((i) => ticks.push(i));
  let delayed: number | undefined;
  of(7)
    .pipe(delay(25, s))
    .subscribe((v) => (delayed = v));
  let timedOut: unknown;
  NEVER.pipe(timeout({ first: 40, scheduler: s })).subscribe({ error: (e) => (timedOut = e) });
  const fired = firstValueFrom(timer(15, s));
  await m.advance(9_000_000);
  assert.deepEqual(ticks, []);
  await m.advance(12_000_000); // t = 21 ms
  assert.deepEqual(ticks, [0, 1]);
  await fired;
  assert.equal(delayed, undefined);
  await m.advance(10_000_000); // 31 ms
  assert.deepEqual(ticks, [0, 1, 2]);
  assert.equal(delayed, 7);
  assert.equal(timedOut, undefined);
  await m.advance(10_000_000); // 41 ms
  assert.equal((timedOut as unknown as Error | undefined)?.name, 'TimeoutError');
  assert.ok(s.now() - t0 >= 41);
  // Nothing left queued once everything completed.
  assert.equal(k.clock.pendingTimers, 0);
  await k.shutdown();
});

test('withTimeout: ETIMEDOUT on virtual time, the timer cancelled when the promise wins', async () => {
  const { m, k } = await bootFake();
  const never = new Promise<void>(() => {});
  const p = k.clock.withTimeout(never, 5_000_000).catch((e: unknown) => e);
  await m.advance(6_000_000);
  assert.ok(Errno.is(await p, 'ETIMEDOUT'));
  const ok = await k.clock.withTimeout(Promise.resolve(3), 5_000_000);
  assert.equal(ok, 3);
  assert.equal(k.clock.pendingTimers, 0);
  const two = firstValueFrom(interval(1, k.clock.scheduler).pipe(take(2), toArray()));
  await m.advance(2_500_000);
  assert.deepEqual(await two, [0, 1]);
  await k.shutdown();
});
