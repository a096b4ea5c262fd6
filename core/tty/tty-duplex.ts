// A Node Duplex view of a tty, for piping: its readable side is the tty's input, its writable side the
// tty's output. Input the consumer does not take in time is bounded (then dropped and counted).
import { Duplex } from 'node:stream';
import type { Subscription } from 'rxjs';
import type { Tty } from './tty';

/** Bytes buffered for a slow Duplex reader before input is dropped. */
export const DUPLEX_BUFFER_LIMIT = 64 * 1024;

export class TtyDuplex extends Duplex {
  private readonly sub: Subscription;
  private queued: Uint8Array[] = [];
  private queuedBytes = 0;
  private wantsData = false;
  /** Input bytes dropped because the reader fell behind by more than DUPLEX_BUFFER_LIMIT. */
  dropped = 0;

  constructor(private readonly tty: Tty) {
    super({ allowHalfOpen: true });
    this.sub = tty.read$.subscribe({
      next: (b) => this.onInput(b),
      complete: () => this.onEnd(),
    });
    if (tty.hungUp) this.onEnd();
  }

  private onInput(b: Uint8Array): void {
    if (this.wantsData && this.queued.length === 0) {
      this.wantsData = this.push(Buffer.from(b));
      return;
    }
    if (this.queuedBytes + b.length > DUPLEX_BUFFER_LIMIT) {
      this.dropped += b.length;
      return;
    }
    this.queued.push(b);
    this.queuedBytes += b.length;
  }

  private onEnd(): void {
    this.flushQueue();
    this.queued.push(new Uint8Array(0));
    this.flushQueue();
  }

  private flushQueue(): void {
    while (this.queued.length > 0) {
      const b = this.queued.shift()!;
      if (b.length === 0) {
        this.push(null);
        return;
      }
      this.queuedBytes -= b.length;
      if (!this.push(Buffer.from(b))) {
        this.wantsData = false;
        return;
      }
    }
    this.wantsData = true;
  }

  override _read(): void {
    this.wantsData = true;
    this.flushQueue();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.tty.write(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length)).then(
      () => cb(),
      (e: unknown) => cb(e instanceof Error ? e : new Error(String(e))),
    );
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    this.sub.unsubscribe();
    cb(err);
  }
}
