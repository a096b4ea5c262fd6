// `gunyah run --attach <vm>`: the terminal bound to one VM's console, as `virsh console` does: raw
// mode (every key goes to the VM, Ctrl-C included), the VM's output unprefixed, and Ctrl-] to
// detach. The terminal is put back however the process ends (exit handler), and after a detach the
// run goes on with the multiplexed view.

/** Ctrl-] (GS), virsh console's and telnet's escape. */
export const DETACH_BYTE = 0x1d;

interface InputStream extends NodeJS.ReadableStream {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

export class ConsoleAttach {
  private attached = false;
  private raw = false;
  private readonly onData = (chunk: Buffer | string) => this.input(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  private readonly restoreOnExit = () => this.restore();

  constructor(
    readonly vm: string,
    private readonly stdin: InputStream,
    private readonly send: (bytes: Uint8Array) => void,
    private readonly onDetach: () => void,
  ) {}

  get active(): boolean {
    return this.attached;
  }

  start(): void {
    if (this.attached) return;
    this.attached = true;
    if (this.stdin.isTTY && this.stdin.setRawMode) {
      this.stdin.setRawMode(true);
      this.raw = true;
      process.once('exit', this.restoreOnExit);
    }
    this.stdin.on('data', this.onData);
    this.stdin.resume();
  }

  private input(chunk: Uint8Array): void {
    if (!this.attached) return;
    const esc = chunk.indexOf(DETACH_BYTE);
    const data = esc >= 0 ? chunk.subarray(0, esc) : chunk;
    // Enter sends CR in raw mode; the guests' line discipline takes LF (ICRNL done here).
    if (data.length > 0) this.send(Uint8Array.from(data, (b) => (b === 0x0d ? 0x0a : b)));
    if (esc >= 0) this.detach();
  }

  /** Leave the console: terminal back to cooked mode, input no longer read. */
  detach(): void {
    if (!this.attached) return;
    this.attached = false;
    this.stdin.off('data', this.onData);
    this.stdin.pause();
    this.restore();
    this.onDetach();
  }

  private restore(): void {
    if (!this.raw) return;
    this.raw = false;
    process.off('exit', this.restoreOnExit);
    try {
      this.stdin.setRawMode?.(false);
    } catch {
      // the terminal is gone
    }
  }
}
