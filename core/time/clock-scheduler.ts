// An rxjs SchedulerLike on the kernel clock: time-based operators (timer, delay, timeout, interval,
// debounceTime...) given this scheduler run on virtual time. now() is in milliseconds, as rxjs expects.
import { Subscription, type SchedulerAction, type SchedulerLike } from 'rxjs';
import type { ClockImpl, TimerHandle } from './clock';

class ClockAction<T> extends Subscription implements SchedulerAction<T> {
  private timer: TimerHandle | undefined;
  private state: T | undefined;

  constructor(
    private readonly clock: ClockImpl,
    private readonly work: (this: SchedulerAction<T>, state?: T) => void,
  ) {
    super(() => {
      if (this.timer) this.clock.cancel(this.timer);
      this.timer = undefined;
    });
  }

  schedule(state?: T, delay = 0): Subscription {
    if (this.closed) return this;
    this.state = state;
    if (this.timer) this.clock.cancel(this.timer);
    this.timer = this.clock.after(Math.max(0, delay) * 1e6, () => {
      this.timer = undefined;
      if (this.closed) return;
      try {
        this.work.call(this, this.state);
      } catch (e) {
        this.unsubscribe();
        throw e;
      }
      // A work function that did not reschedule itself is done.
      if (!this.timer) this.unsubscribe();
    });
    return this;
  }
}

export class ClockScheduler implements SchedulerLike {
  constructor(private readonly clock: ClockImpl) {}

  now(): number {
    return this.clock.now() / 1e6;
  }

  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
    return new ClockAction<T>(this.clock, work).schedule(state, delay);
  }
}
