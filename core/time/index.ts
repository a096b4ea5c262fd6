// core/time: clock, timers and the rxjs scheduler on virtual time.
export * from './clock';
export * from './clock-scheduler';
export * from './arch-timer';
export * from './time.module';
