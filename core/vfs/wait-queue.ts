// Wait queues: tasks waiting for a condition (a promise each) and callback entries (the way irqfd hooks
// an eventfd's wakeups). wake() carries a poll mask, as wake_up_poll does.
import { Errno } from '../errno';

export type WaitCallback = (mask: number) => void;

export class WaitQueue {
  private waiters: (() => void)[] = [];
  private readonly callbacks = new Set<WaitCallback>();

  /** Resolve on the next wake (or reject with EINTR when `signal` aborts). */
  wait(signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(new Errno('EINTR'));
      const onAbort = () => {
        this.waiters = this.waiters.filter((w) => w !== done);
        reject(new Errno('EINTR'));
      };
      const done = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      this.waiters.push(done);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** add_wait_queue with a wake function; returns the remover. */
  add(cb: WaitCallback): () => void {
    this.callbacks.add(cb);
    return () => this.callbacks.delete(cb);
  }

  get waiting(): number {
    return this.waiters.length + this.callbacks.size;
  }

  /** wake_up_poll: every waiter and callback. */
  wake(mask = 0): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
    for (const cb of [...this.callbacks]) cb(mask);
  }
}

/** poll(2) event bits. */
export const POLL = {
  IN: 0x0001,
  PRI: 0x0002,
  OUT: 0x0004,
  ERR: 0x0008,
  HUP: 0x0010,
  NVAL: 0x0020,
  RDNORM: 0x0040,
  WRNORM: 0x0100,
} as const;

/** What a file's poll op registers its wait queues with (poll_table). */
export class PollTable {
  readonly queues: WaitQueue[] = [];

  wait(wq: WaitQueue): void {
    if (!this.queues.includes(wq)) this.queues.push(wq);
  }
}
