// termios (asm-generic/termbits.h): the flags the line discipline honours, the kernel struct termios
// layout for TCGETS/TCSETS, and the tty ioctl numbers (asm-generic/ioctls.h).
import { defineStruct } from '../vfs/struct-layout';

export const NCCS = 19;
/** c_cc indices. */
export const V = { INTR: 0, QUIT: 1, ERASE: 2, KILL: 3, EOF: 4, TIME: 5, MIN: 6, START: 8, STOP: 9, SUSP: 10, EOL: 11, WERASE: 14, EOL2: 16 } as const;

export const IFLAG = { INLCR: 0o100, IGNCR: 0o200, ICRNL: 0o400 } as const;
export const OFLAG = { OPOST: 0o1, ONLCR: 0o4 } as const;
export const LFLAG = { ISIG: 0o1, ICANON: 0o2, ECHO: 0o10, ECHOE: 0o20, ECHOK: 0o40, ECHONL: 0o100 } as const;
export const CFLAG = { B38400: 0o17, CS8: 0o60, CREAD: 0o200, HUPCL: 0o2000, CLOCAL: 0o4000 } as const;

export const TCGETS = 0x5401;
export const TCSETS = 0x5402;
export const TCSETSW = 0x5403;
export const TCSETSF = 0x5404;
export const TCFLSH = 0x540b;
export const TIOCGWINSZ = 0x5413;
export const TIOCSWINSZ = 0x5414;
export const TIOCINQ = 0x541b;
/** TCFLSH arguments. */
export const TCIFLUSH = 0;
export const TCOFLUSH = 1;
export const TCIOFLUSH = 2;

/** struct termios as the kernel's TCGETS passes it (36 bytes). */
export const termiosStruct = defineStruct('termios', [
  ['c_iflag', 'u32'],
  ['c_oflag', 'u32'],
  ['c_cflag', 'u32'],
  ['c_lflag', 'u32'],
  ['c_line', 'u8'],
  ['c_cc', { array: 'u8', length: NCCS }],
] as const);

export const winsizeStruct = defineStruct('winsize', [
  ['ws_row', 'u16'],
  ['ws_col', 'u16'],
  ['ws_xpixel', 'u16'],
  ['ws_ypixel', 'u16'],
] as const);

export type Termios = ReturnType<typeof termiosStruct.decode>;

/** The default control characters (INIT_C_CC). */
export function defaultCc(): number[] {
  const cc = new Array<number>(NCCS).fill(0);
  cc[V.INTR] = 0x03;
  cc[V.QUIT] = 0x1c;
  cc[V.ERASE] = 0x7f;
  cc[V.KILL] = 0x15;
  cc[V.EOF] = 0x04;
  cc[V.MIN] = 1;
  cc[V.START] = 0x11;
  cc[V.STOP] = 0x13;
  cc[V.SUSP] = 0x1a;
  cc[V.WERASE] = 0x17;
  return cc;
}

/** tty_std_termios: cooked (canonical, echo, CR->NL in, NL->CRNL out). */
export function stdTermios(): Termios {
  return {
    c_iflag: IFLAG.ICRNL,
    c_oflag: OFLAG.OPOST | OFLAG.ONLCR,
    c_cflag: CFLAG.B38400 | CFLAG.CS8 | CFLAG.CREAD | CFLAG.HUPCL,
    c_lflag: LFLAG.ISIG | LFLAG.ICANON | LFLAG.ECHO | LFLAG.ECHOE | LFLAG.ECHOK,
    c_line: 0,
    c_cc: defaultCc(),
  };
}

/** cfmakeraw: no input or output processing, no echo, byte at a time. */
export function rawTermios(): Termios {
  return { ...stdTermios(), c_iflag: 0, c_oflag: 0, c_lflag: 0 };
}
