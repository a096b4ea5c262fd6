// core/tty: ttys, the N_TTY line discipline, termios, the Duplex view.
export * from './termios';
export * from './n-tty';
export * from './tty';
export * from './tty-duplex';
export * from './tty-core';
export * from './tty.module';
