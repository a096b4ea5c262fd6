// The N_TTY line discipline: input processing (ICRNL, IGNCR, INLCR), canonical line editing (ERASE,
// WERASE, KILL, EOF, lines released on NL/EOL) and echo (ECHO, ECHOE, ECHONL), with the read buffer
// bounded as N_TTY_BUF_SIZE bounds it.
import { IFLAG, LFLAG, V, type Termios } from './termios';

/** N_TTY_BUF_SIZE. */
export const N_TTY_BUF_SIZE = 4096;

const NL = 0x0a;
const CR = 0x0d;

export interface LdiscOutput {
  /** Bytes now available to readers (a whole line in canonical mode). */
  data: Uint8Array;
  /** Bytes to echo back through the driver. */
  echo: Uint8Array;
  /** An EOF character ended a canonical read (a read returns what precedes it, then 0). */
  eof: boolean;
}

export class NTty {
  private line: number[] = [];
  /** Characters dropped because the buffer was full. */
  overruns = 0;

  constructor(public termios: Termios) {}

  get canonical(): boolean {
    return (this.termios.c_lflag & LFLAG.ICANON) !== 0;
  }

  /** Bytes held in an unfinished canonical line. */
  get pending(): number {
    return this.line.length;
  }

  /** Drop a partially edited line (TCIFLUSH, mode change). */
  flush(): void {
    this.line = [];
  }

  /** n_tty_receive_buf: process input; `room` is what the read buffer can still take. */
  receive(bytes: Uint8Array, room: number): LdiscOutput[] {
    const t = this.termios;
    const out: LdiscOutput[] = [];
    const echoOn = (t.c_lflag & LFLAG.ECHO) !== 0;
    let raw: number[] = [];
    let echo: number[] = [];
    const flushRaw = () => {
      if (raw.length || echo.length) out.push({ data: Uint8Array.from(raw), echo: Uint8Array.from(echo), eof: false });
      raw = [];
      echo = [];
    };
    for (let c of bytes) {
      if (c === CR) {
        if (t.c_iflag & IFLAG.IGNCR) continue;
        if (t.c_iflag & IFLAG.ICRNL) c = NL;
      } else if (c === NL && t.c_iflag & IFLAG.INLCR) c = CR;
      if (!this.canonical) {
        if (raw.length >= room) {
          this.overruns++;
          continue;
        }
        raw.push(c);
        if (echoOn) echo.push(c);
        continue;
      }
      const cc = t.c_cc;
      if (c === cc[V.ERASE] || c === 0x08) {
        if (this.line.length > 0) {
          this.line.pop();
          if (echoOn && t.c_lflag & LFLAG.ECHOE) echo.push(0x08, 0x20, 0x08);
        }
        continue;
      }
      if (c === cc[V.WERASE]) {
        while (this.line.length > 0 && this.line[this.line.length - 1] === 0x20) this.popEcho(echo, echoOn);
        while (this.line.length > 0 && this.line[this.line.length - 1] !== 0x20) this.popEcho(echo, echoOn);
        continue;
      }
      if (c === cc[V.KILL]) {
        while (this.line.length > 0) this.popEcho(echo, echoOn);
        continue;
      }
      if (c === cc[V.EOF]) {
        out.push({ data: Uint8Array.from(this.line), echo: Uint8Array.from(echo), eof: true });
        echo = [];
        this.line = [];
        continue;
      }
      // Keep one byte free so a newline can always end a full line (n_tty does the same).
      if (this.line.length >= Math.min(room, N_TTY_BUF_SIZE) - 1 && c !== NL) {
        this.overruns++;
        continue;
      }
      this.line.push(c);
      if (echoOn || (c === NL && t.c_lflag & LFLAG.ECHONL)) echo.push(c);
      if (c === NL || (cc[V.EOL] !== 0 && c === cc[V.EOL])) {
        out.push({ data: Uint8Array.from(this.line), echo: Uint8Array.from(echo), eof: false });
        echo = [];
        this.line = [];
      }
    }
    if (this.canonical) {
      if (echo.length) out.push({ data: new Uint8Array(0), echo: Uint8Array.from(echo), eof: false });
    } else flushRaw();
    return out;
  }

  private popEcho(echo: number[], echoOn: boolean): void {
    this.line.pop();
    if (echoOn && this.termios.c_lflag & LFLAG.ECHOE) echo.push(0x08, 0x20, 0x08);
  }
}
