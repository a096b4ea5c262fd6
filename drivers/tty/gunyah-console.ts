// The Gunyah console (drivers/tty/gunyah_console.c, v1-v5 shape) over the RM console service: one tty
// per VM with a console, /dev/ttyGH<vmid> (ttyGH0 is this VM's own console, GH_VMID_SELF). Opening a
// port opens the RM console, writes go out as CONSOLE_WRITEs of at most 228 bytes, VM_CONSOLE_CHARS
// notifications become input, and a VM's exit hangs its tty up. Kernel messages go to ttyGH0 as well.
import { inject, injectable } from 'inversify';
import { E, Printk, TtyCore, type PlatformDevice, type PrintkImpl, type Tty, type TtyCoreImpl, type TtyDriver } from '../../core/index';
import { GH_RM_CONSOLE_WRITE_CHARS, GH_VMID_SELF, RM_NOTIF, type GhRm, type GunyahRmClient } from '../virt/index';

/** VMIDs are 16-bit but the RM hands out at most 0xff; one port per possible VMID below 256. */
export const GH_CONSOLE_PORTS = 256;
/** Bytes of kernel log kept for the console while an RPC is in flight (the v5 driver's page buffers). */
export const GH_CONSOLE_LOG_BUFFER = 4096;

export class GhConsole {
  readonly driver: TtyDriver;
  private readonly ttys = new Map<number, Tty>();
  private readonly undo: (() => void)[] = [];
  private logBuf = '';
  private logBusy = false;
  /** Console-chars notifications for VMs without a port, and malformed ones. */
  dropped = 0;

  constructor(
    private readonly rm: GhRm,
    private readonly ttyCore: TtyCoreImpl,
    private readonly printk: PrintkImpl,
  ) {
    this.driver = {
      name: 'ttyGH',
      numPorts: GH_CONSOLE_PORTS,
      ops: {
        writeRoom: () => GH_RM_CONSOLE_WRITE_CHARS,
        write: async (tty, data) => {
          const chunk = data.subarray(0, GH_RM_CONSOLE_WRITE_CHARS);
          try {
            await this.rm.vm.consoleWrite(this.vmidOf(tty), chunk);
            return chunk.length;
          } catch {
            return -E.EAGAIN; // any RM error, as gh_rsc_mgr_console_write
          }
        },
        open: (tty) => this.rm.vm.consoleOpen(this.vmidOf(tty)),
        close: (tty) => this.rm.vm.consoleClose(this.vmidOf(tty)),
        flushChars: (tty) => this.rm.vm.consoleFlush(this.vmidOf(tty)).catch(() => undefined),
      },
    };
  }

  /** Port index = VMID; port 0 is GH_VMID_SELF. */
  private vmidOf(tty: Tty): number {
    return tty.index;
  }

  async start(): Promise<void> {
    this.ttyCore.registerDriver(this.driver);
    this.addVm(GH_VMID_SELF);
    const chars = this.rm.notifications(RM_NOTIF.VM_CONSOLE_CHARS).subscribe((p) => this.onChars(p));
    const exits = this.rm.notifications(RM_NOTIF.VM_EXITED).subscribe((p) => this.onExited(p));
    const unlog = this.printk.registerConsole((_r, line) => this.logLine(line));
    this.undo.push(() => chars.unsubscribe(), () => exits.unsubscribe(), () => void unlog());
    // The loop-back port for this VM's own VMID (the v1/v2 self-test).
    try {
      const self = await this.rm.getVmid();
      if (self !== GH_VMID_SELF && self < GH_CONSOLE_PORTS) this.addVm(self);
    } catch (e) {
      this.printk.warn(`ttyGH: VM_GET_VMID failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  async stop(): Promise<void> {
    for (const u of this.undo.splice(0)) u();
    this.ttyCore.unregisterDriver(this.driver);
    this.ttys.clear();
  }

  /** A tty for VM `vmid` (/dev/ttyGH<vmid>), e.g. when the VM manager starts a VM with an RM console. */
  addVm(vmid: number): Tty {
    const t = this.ttys.get(vmid);
    if (t && !t.hungUp) return t;
    if (t) this.ttyCore.unregisterDevice(t);
    const tty = this.ttyCore.registerDevice(this.driver, vmid);
    this.ttys.set(vmid, tty);
    return tty;
  }

  /** Hang up and remove a VM's tty. */
  removeVm(vmid: number): void {
    const t = this.ttys.get(vmid);
    if (!t) return;
    this.ttys.delete(vmid);
    this.ttyCore.unregisterDevice(t);
  }

  tty(vmid: number): Tty | undefined {
    return this.ttys.get(vmid);
  }

  /** VM_CONSOLE_CHARS: `vmid u16, num_bytes u16, bytes` from VM `vmid` (0 when the owner wrote). */
  private onChars(p: Uint8Array): void {
    if (p.length < 4) return this.drop(`console chars notification of ${p.length} bytes`);
    const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
    const vmid = dv.getUint16(0, true);
    const n = dv.getUint16(2, true);
    if (4 + n > p.length) return this.drop(`console chars for VM ${vmid}: ${n} bytes announced, ${p.length - 4} present`);
    const tty = this.ttys.get(vmid);
    if (!tty) return this.drop(`console chars for VM ${vmid}, which has no ttyGH port`);
    tty.receive(p.subarray(4, 4 + n));
  }

  /** VM_EXITED: `vmid u16, exit_type u16, ...`: the VM's console is gone. */
  private onExited(p: Uint8Array): void {
    if (p.length < 4) return this.drop(`VM exited notification of ${p.length} bytes`);
    const vmid = new DataView(p.buffer, p.byteOffset, p.byteLength).getUint16(0, true);
    if (vmid !== GH_VMID_SELF && this.ttys.has(vmid)) this.removeVm(vmid);
  }

  private drop(why: string): void {
    this.dropped++;
    this.printk.warn(`ttyGH: dropped ${why}`);
  }

  /**
   * The printk console: log lines are buffered (bounded) and written to this VM's console by one
   * writer at a time, so printk never waits on an RPC. Lines beyond the buffer are dropped.
   */
  private logLine(line: string): void {
    if (this.logBuf.length + line.length + 1 > GH_CONSOLE_LOG_BUFFER) return;
    this.logBuf += `${line}\n`;
    if (!this.logBusy) void this.flushLog();
  }

  private async flushLog(): Promise<void> {
    const tty = this.ttys.get(GH_VMID_SELF);
    if (!tty || tty.openCount === 0) return; // nobody has the console open: the RM would drop it anyway
    this.logBusy = true;
    try {
      while (this.logBuf.length > 0) {
        const text = this.logBuf;
        this.logBuf = '';
        await tty.write(new TextEncoder().encode(text)).catch(() => undefined);
      }
    } finally {
      this.logBusy = false;
    }
  }
}

/** The console as a client of the RM link. */
@injectable()
export class GhConsoleClient implements GunyahRmClient {
  readonly name = 'gh_rsc_mgr_console';
  private readonly consoles = new Map<GhRm, GhConsole>();

  constructor(
    @inject(TtyCore) private readonly ttyCore: TtyCoreImpl,
    @inject(Printk) private readonly printk: PrintkImpl,
  ) {}

  /** The console on `rm` (the first RM's when omitted). */
  console(rm?: GhRm): GhConsole | undefined {
    return rm ? this.consoles.get(rm) : this.consoles.values().next().value;
  }

  async probe(rm: GhRm, _dev: PlatformDevice): Promise<() => Promise<void>> {
    const c = new GhConsole(rm, this.ttyCore, this.printk);
    await c.start();
    this.consoles.set(rm, c);
    return async () => {
      this.consoles.delete(rm);
      await c.stop();
    };
  }
}
