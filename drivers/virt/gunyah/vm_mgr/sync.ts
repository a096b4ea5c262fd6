// The kernel synchronisation the VM manager needs, on the event loop: a mutex (struct mutex, taken by
// async tasks in FIFO order) and a completion (struct completion: complete / wait / reinit).
import { Errno } from '../../../../core/index';

export class Mutex {
  private locked = false;
  private readonly waiters: (() => void)[] = [];

  get isLocked(): boolean {
    return this.locked;
  }

  /** mutex_lock_interruptible: resolves with the unlock function; EINTR when `signal` aborts first. */
  lock(signal?: AbortSignal): Promise<() => void> {
    if (!this.locked) {
      this.locked = true;
      return Promise.resolve(() => this.unlock());
    }
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new Errno('EINTR'));
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve(() => this.unlock());
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(grant);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Errno('EINTR'));
      };
      this.waiters.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private unlock(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.locked = false;
  }

  /** Run `fn` holding the mutex. */
  async with<T>(fn: () => Promise<T> | T, signal?: AbortSignal): Promise<T> {
    const unlock = await this.lock(signal);
    try {
      return await fn();
    } finally {
      unlock();
    }
  }
}

export class Completion {
  private done = 0;
  private waiters: (() => void)[] = [];
  /** complete_all: every present and future wait returns until reinit. */
  private all = false;

  complete(): void {
    this.done++;
    const w = this.waiters.shift();
    if (w) {
      this.done--;
      w();
    }
  }

  completeAll(): void {
    this.all = true;
    for (const w of this.waiters.splice(0)) w();
  }

  reinit(): void {
    this.done = 0;
    this.all = false;
  }

  /** wait_for_completion_interruptible: EINTR (as -ERESTARTSYS reaches userspace) when `signal` aborts. */
  wait(signal?: AbortSignal): Promise<void> {
    if (this.all) return Promise.resolve();
    if (this.done > 0) {
      this.done--;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new Errno('EINTR'));
      const go = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        this.waiters = this.waiters.filter((w) => w !== go);
        reject(new Errno('EINTR'));
      };
      this.waiters.push(go);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
