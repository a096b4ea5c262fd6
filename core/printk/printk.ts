// printk and the kernel log: a byte-bounded ring of records with levels and sequence numbers, streamed as
// rxjs, with consoles (sinks that see records below console_loglevel) and /dev/kmsg-style readers.
import { Observable, Subject } from 'rxjs';

/** KERN_EMERG..KERN_DEBUG. */
export const LOGLEVEL = { EMERG: 0, ALERT: 1, CRIT: 2, ERR: 3, WARNING: 4, NOTICE: 5, INFO: 6, DEBUG: 7 } as const;
export type LogLevel = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7;

/** syslog facility of kernel messages (LOG_KERN) and of messages written to /dev/kmsg (LOG_USER). */
export const LOG_KERN = 0;
export const LOG_USER = 1;

export interface LogRecord {
  /** 64-bit sequence number in Linux; a JS number is exact far beyond any run. */
  readonly seq: number;
  readonly level: LogLevel;
  readonly facility: number;
  /** Virtual time since boot, in ns. */
  readonly tsNs: number;
  readonly text: string;
}

/** Per-record overhead counted against the buffer, as struct printk_info roughly costs in Linux. */
const RECORD_OVERHEAD = 32;
/** CONFIG_LOG_BUF_SHIFT=17: 128 KiB of log. */
export const DEFAULT_LOG_BUF_LEN = 1 << 17;
/** Longest record text kept (LOG_LINE_MAX is 1024 - 32 in Linux); longer text is truncated. */
export const LOG_LINE_MAX = 992;
/** console_loglevel default (CONSOLE_LOGLEVEL_DEFAULT 7): records below it reach consoles. */
export const DEFAULT_CONSOLE_LOGLEVEL = 7;

export type ConsoleSink = (record: LogRecord, line: string) => void;

export const Printk = Symbol('Printk');
export type Printk = PrintkImpl;

export class PrintkImpl {
  private readonly ring: LogRecord[] = [];
  private head = 0;
  private bytes = 0;
  private nextSeq = 0;
  private readonly live = new Subject<LogRecord>();
  private readonly consoles = new Set<ConsoleSink>();
  consoleLoglevel = DEFAULT_CONSOLE_LOGLEVEL;

  constructor(
    private readonly now: () => number,
    readonly bufLen = DEFAULT_LOG_BUF_LEN,
  ) {}

  /** Append a record; returns its sequence number. */
  log(level: LogLevel, text: string, facility = LOG_KERN): number {
    const body = text.length > LOG_LINE_MAX ? text.slice(0, LOG_LINE_MAX) : text;
    const rec: LogRecord = { seq: this.nextSeq++, level, facility, tsNs: this.now(), text: body };
    this.ring.push(rec);
    this.bytes += body.length + RECORD_OVERHEAD;
    while (this.bytes > this.bufLen && this.head < this.ring.length - 1) {
      this.bytes -= this.ring[this.head]!.text.length + RECORD_OVERHEAD;
      this.head++;
    }
    // Compact the array now and then instead of shifting on every eviction.
    if (this.head > 1024 && this.head * 2 > this.ring.length) {
      this.ring.splice(0, this.head);
      this.head = 0;
    }
    if (level < this.consoleLoglevel && this.consoles.size > 0) {
      const line = formatDmesgLine(rec);
      for (const c of this.consoles) c(rec, line);
    }
    this.live.next(rec);
    return rec.seq;
  }

  emerg(t: string): number { return this.log(0, t); }
  alert(t: string): number { return this.log(1, t); }
  crit(t: string): number { return this.log(2, t); }
  err(t: string): number { return this.log(3, t); }
  warn(t: string): number { return this.log(4, t); }
  notice(t: string): number { return this.log(5, t); }
  info(t: string): number { return this.log(6, t); }
  debug(t: string): number { return this.log(7, t); }

  /** Records still in the buffer, oldest first. */
  records(): LogRecord[] {
    return this.ring.slice(this.head);
  }

  /** The sequence number of the oldest record still held. */
  get firstSeq(): number {
    return this.ring[this.head]?.seq ?? this.nextSeq;
  }

  /** The sequence number the next record will get. */
  get seqEnd(): number {
    return this.nextSeq;
  }

  /** The record with sequence number `seq`, if it is still held. */
  recordAt(seq: number): LogRecord | undefined {
    const first = this.firstSeq;
    if (seq < first || seq >= this.nextSeq) return undefined;
    return this.ring[this.head + (seq - first)];
  }

  /** The log as `dmesg` prints it. */
  text(): string {
    return this.records().map(formatDmesgLine).join('\n');
  }

  /** Records as they are logged. With `replay`, the records already held come first. */
  stream(replay = false): Observable<LogRecord> {
    return new Observable<LogRecord>((sub) => {
      if (replay) for (const r of this.records()) sub.next(r);
      const s = this.live.subscribe(sub);
      return () => s.unsubscribe();
    });
  }

  registerConsole(sink: ConsoleSink): () => void {
    this.consoles.add(sink);
    return () => this.consoles.delete(sink);
  }

  /** Complete every stream (kernel shutdown). */
  close(): void {
    this.live.complete();
  }
}

/** `[    1.234567] text`, as dmesg prints a record. */
export function formatDmesgLine(r: LogRecord): string {
  const us = Math.floor(r.tsNs / 1000);
  const sec = Math.floor(us / 1e6);
  const frac = String(us % 1e6).padStart(6, '0');
  return `[${String(sec).padStart(5, ' ')}.${frac}] ${r.text}`;
}

/**
 * A /dev/kmsg record: `<prio>,<seq>,<usec>,<flags>;<text>\n` with prio = facility << 3 | level and
 * non-printable bytes escaped as \xNN (Documentation/ABI/testing/dev-kmsg).
 */
export function formatKmsgRecord(r: LogRecord): string {
  const prio = (r.facility << 3) | r.level;
  let text = '';
  for (const ch of r.text) {
    const c = ch.codePointAt(0)!;
    text += c < 0x20 || c === 0x7f || ch === '\\' ? `\\x${c.toString(16).padStart(2, '0')}` : ch;
  }
  return `${prio},${r.seq},${Math.floor(r.tsNs / 1000)},-;${text}\n`;
}

/**
 * printk_ratelimit: at most `burst` messages per `intervalNs` per key; the number suppressed is reported
 * with the next message that passes.
 */
export class Ratelimit {
  private start = -Infinity;
  private printed = 0;
  private missed = 0;

  constructor(
    private readonly now: () => number,
    readonly intervalNs = 5e9,
    readonly burst = 10,
  ) {}

  /** True when a message may be printed; `suppressed` is how many were dropped before it. */
  allow(): { ok: boolean; suppressed: number } {
    const t = this.now();
    if (t - this.start >= this.intervalNs) {
      this.start = t;
      this.printed = 0;
    }
    if (this.printed < this.burst) {
      this.printed++;
      const suppressed = this.missed;
      this.missed = 0;
      return { ok: true, suppressed };
    }
    this.missed++;
    return { ok: false, suppressed: 0 };
  }
}
