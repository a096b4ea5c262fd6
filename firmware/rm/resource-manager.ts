// The Resource Manager: its services wired together and its event loop. Everything runs as work
// items in arrival order on the RM's one vCPU (RM's event.c); interrupts only queue work.
import { RmErr, RmError } from './abi/rm-error';
import { Vmid, VmState } from './abi/vm-state';
import { ConsoleService } from './console/console-service';
import { GhError } from '../hypervisor';
import { HypCallError, type Hypercalls } from './hyp/hypercalls';
import type { RmPlatform } from './hyp/rm-platform';
import { MemparcelService } from './mem/memparcel-service';
import type { RmEnv } from './rm-env';
import { RpcServer } from './server/rpc-server';
import type { LinkTransport } from './server/rpc-link';
import { IrqLending } from './vm/irq-lending';
import { Lifecycle } from './vm/lifecycle';
import { VirqAllocator } from './vm/virq-allocator';
import { VmBuilder } from './vm/vm-builder';
import { VmTable } from './vm/vm-table';
import { registerVmMgmt } from './vm/vm-mgmt';
import { VmCreation } from './vm/vm-creation';
import { registerMemparcelHandlers } from './mem/memparcel-handlers';
import { registerMiscHandlers } from './vm/misc-handlers';
import { registerBootContext } from './vm/boot-context';
import type { Vm } from './vm/vm';

export type Work = () => Promise<void> | void;

/**
 * Messages the open-source RM (12/2023) defines but does not handle, which this RM can serve when
 * asked. Off by default, so the wire behaviour is the C RM's (UNIMPLEMENTED).
 */
export interface RmExtensions {
  /** VM_SET_CONTEXT (0x56000031) as Linux v17's VM_SET_BOOT_CONTEXT (vm/boot-context.ts). */
  setBootContext?: boolean;
}

/** prng_get_entropy retries: every 1 ms, for at most 100 ms (the hypervisor's window is 33 ms). */
const ENTROPY_RETRY_NS = 1_000_000;
const ENTROPY_TRIES = 100;

export interface RmStats {
  work: number;
  faults: string[];
}

export class ResourceManager {
  readonly hyp: Hypercalls;
  readonly vms = new VmTable();
  readonly rpc: RpcServer;
  readonly lifecycle = new Lifecycle(this);
  readonly builder = new VmBuilder(this);
  readonly creation = new VmCreation(this);
  readonly memparcels = new MemparcelService(this);
  readonly consoles = new ConsoleService(this);
  readonly irqs = new IrqLending(this);
  /** SPIs of the RM's own VIC. */
  readonly rmVirqs = VirqAllocator.forRm();
  readonly stats: RmStats = { work: 0, faults: [] };
  /** Trace lines (kept when `tracing` is set). */
  readonly traceLog: string[] = [];
  tracing = false;

  private pool: number[] = [];
  private readonly queue: Work[] = [];
  private qHead = 0;
  private wake: (() => void) | undefined;
  private readonly virqWork = new Map<number, Work>();
  private running = false;

  constructor(
    readonly env: RmEnv,
    readonly plat: RmPlatform,
    transport: LinkTransport,
    readonly extensions: RmExtensions = {},
  ) {
    this.hyp = plat.hyp;
    this.rpc = new RpcServer(transport);
    this.rpc.onFault = (e, req) => this.fault(`request 0x${req.msgId.toString(16)} from VM ${req.client}: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    registerVmMgmt(this);
    this.creation.register();
    registerMemparcelHandlers(this);
    this.consoles.register();
    this.irqs.register();
    registerMiscHandlers(this);
    if (extensions.setBootContext) registerBootContext(this);
    // The RM and the primary VM exist from the start (vm_mgnt_init).
    const rmVm = this.vms.create(Vmid.RM, Vmid.RM);
    rmVm.name = 'RM';
    rmVm.state = VmState.RUNNING;
  }

  trace(line: string): void {
    if (this.tracing) this.traceLog.push(`[${this.plat.now()}] ${line}`);
  }

  /** Something the C RM would assert or panic on: recorded, never thrown at a client. */
  fault(what: string): void {
    this.stats.faults.push(what);
    this.trace(`FAULT ${what}`);
  }

  /** Queue work for the event loop. */
  post(work: Work): void {
    this.queue.push(work);
    const w = this.wake;
    if (w) {
      this.wake = undefined;
      w();
    }
  }

  /** What to do when SPI `virq` of the RM's VIC fires. */
  onVirq(virq: number, work: Work): void {
    this.virqWork.set(virq, work);
  }
  offVirq(virq: number): void {
    this.virqWork.delete(virq);
  }

  /** The IRQ vector's dispatch: queue the interrupt's work (never run it inside the vector). */
  interrupt(intid: number): void {
    const w = this.virqWork.get(intid);
    if (w) this.post(w);
  }

  /** Allocate an SPI in the RM's VIC, enable it and attach `work` to it. */
  async claimVirq(work: Work, edge = true): Promise<number> {
    const v = this.rmVirqs.alloc();
    if (v === undefined) throw new RmError(RmErr.NORESOURCE, 'the RM has no free VIRQ');
    this.onVirq(v, work);
    await this.plat.enableVirq(v, edge);
    return v;
  }
  async releaseVirq(virq: number): Promise<void> {
    await this.plat.disableVirq(virq);
    this.offVirq(virq);
    this.rmVirqs.free(virq);
  }

  /** Register an RPC link to `vm`: RM-side caps and VIRQs of its msgqueue pair. */
  async addRpcLink(vmid: number, txCap: bigint, rxCap: bigint, txVirq: number, rxVirq: number): Promise<void> {
    const link = this.rpc.addLink(vmid, txCap, rxCap, txVirq, rxVirq);
    this.onVirq(rxVirq, () => this.rpc.drain(link));
    this.onVirq(txVirq, () => link.onTxReady());
  }

  /**
   * Random bytes from prng_get_entropy, 16 at a time. The hypervisor rate-limits it (BUSY): the C
   * RM spins until it answers; this RM sleeps 1 ms between tries (bounded) so other vCPUs run.
   */
  async entropy(n: number): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    for (let got = 0; got < n; ) {
      if (this.pool.length === 0) {
        for (let tries = 0; ; tries++) {
          try {
            this.pool = Array.from(await this.hyp.entropy(16));
            break;
          } catch (e) {
            if (!(e instanceof HypCallError) || e.code !== GhError.BUSY || tries >= ENTROPY_TRIES) throw e;
            await this.plat.sleep(ENTROPY_RETRY_NS);
          }
        }
      }
      out[got++] = this.pool.pop()!;
    }
    return out;
  }

  vm(vmid: number): Vm {
    return this.vms.require(vmid);
  }

  /** Run queued work until the queue is empty. */
  async runPending(): Promise<void> {
    while (this.qHead < this.queue.length) {
      const w = this.queue[this.qHead++]!;
      if (this.qHead > 1024) {
        this.queue.splice(0, this.qHead);
        this.qHead = 0;
      }
      this.stats.work++;
      try {
        await w();
      } catch (e) {
        this.fault(e instanceof Error ? e.stack ?? e.message : String(e));
      }
    }
  }

  /** The event loop: run work, then idle until an interrupt queues more. Never returns. */
  async run(): Promise<never> {
    if (this.running) throw new Error('the RM event loop is already running');
    this.running = true;
    for (;;) {
      await this.runPending();
      await new Promise<void>((resolve) => {
        if (this.qHead < this.queue.length) resolve();
        else this.wake = resolve;
      });
    }
  }
}
