// The gh_rsc_mgr platform driver (drivers/virt/gunyah/rsc_mgr.c): bound to the RM-RPC node under
// /hypervisor ("gunyah-resource-manager", reg = <tx cap>, <rx cap>, interrupts = TX, RX). Probe checks the
// hypervisor's API version, brings up the msgq mailbox channel and the RPC client, and publishes the RM
// for its consumers (console, VM manager) through the GunyahRm registry.
import { BehaviorSubject, type Observable } from 'rxjs';
import { inject, injectable, multiInject, optional } from 'inversify';
import {
  Clock,
  Errno,
  Hypercalls,
  IrqCore,
  Mailbox,
  Mm,
  Printk,
  ProbeDefer,
  type ClockImpl,
  type Driver,
  type HypercallsImpl,
  type IrqCoreImpl,
  type MailboxImpl,
  type MmImpl,
  type PlatformDevice,
  type PrintkImpl,
  type ProbeResult,
} from '../../../core/index';
import { GhMsgq } from '../../mailbox/index';
import { GhRmRpc, RM_DEFAULT_TIMEOUT_NS } from './rm-rpc';
import { GhRmVmCalls } from './rm-calls-vm';
import { GhRmMemCalls } from './rm-calls-mem';

/** The hypervisor API version this driver speaks (hyp_api_info bits 13:0). */
export const GH_API_VERSION = 1;

/** One Resource Manager link: its RPC client and typed calls. */
export class GhRm {
  readonly vm: GhRmVmCalls;
  readonly mem: GhRmMemCalls;
  private vmid: number | undefined;

  constructor(
    readonly name: string,
    readonly rpc: GhRmRpc,
  ) {
    this.vm = new GhRmVmCalls(rpc);
    this.mem = new GhRmMemCalls(rpc);
  }

  /** This VM's VMID (VM_GET_VMID once, then cached, as Linux does). */
  async getVmid(): Promise<number> {
    this.vmid ??= await this.vm.getVmid();
    return this.vmid;
  }

  notifications(msgId: number): Observable<Uint8Array> {
    return this.rpc.on(msgId);
  }
}

/**
 * A driver that lives on an RM link (the "gh_rsc_mgr bus" devices of Linux v5: console, VM manager),
 * contributed by multi-injection. Probed once the link is up; the returned function undoes it.
 */
export const GunyahRmClient = Symbol('GunyahRmClient');
export interface GunyahRmClient {
  readonly name: string;
  probe(rm: GhRm, dev: PlatformDevice): Promise<() => Promise<void> | void>;
}

/** The RMs the kernel has (normally one), for drivers that need one. */
export const GunyahRm = Symbol('GunyahRm');
export type GunyahRm = GunyahRmRegistry;

@injectable()
export class GunyahRmRegistry {
  private readonly rms = new BehaviorSubject<readonly GhRm[]>([]);

  /** The current list of RM links, replayed to each subscriber. */
  get rms$(): Observable<readonly GhRm[]> {
    return this.rms.asObservable();
  }

  /** gh_rm_get: the first RM, if any. */
  get(): GhRm | undefined {
    return this.rms.value[0];
  }

  register(rm: GhRm): void {
    this.rms.next([...this.rms.value, rm]);
  }

  unregister(rm: GhRm): void {
    this.rms.next(this.rms.value.filter((r) => r !== rm));
  }
}

@injectable()
export class GhRsrcMgrDriver implements Driver {
  readonly name = 'gh_rsc_mgr';
  readonly ofMatchTable = [{ compatible: 'gunyah-resource-manager' }];

  constructor(
    @inject(Hypercalls) private readonly hyp: HypercallsImpl,
    @inject(Mailbox) private readonly mailbox: MailboxImpl,
    @inject(IrqCore) private readonly irq: IrqCoreImpl,
    @inject(Mm) private readonly mm: MmImpl,
    @inject(Clock) private readonly clock: ClockImpl,
    @inject(Printk) private readonly printk: PrintkImpl,
    @inject(GunyahRm) private readonly registry: GunyahRmRegistry,
    @multiInject(GunyahRmClient) @optional() private readonly clients: readonly GunyahRmClient[] | undefined,
  ) {}

  async probe(dev: PlatformDevice): Promise<ProbeResult> {
    const id = await this.hyp.object.identify();
    if (id.apiVersion !== GH_API_VERSION) {
      throw new Errno('ENODEV', `unsupported hypervisor API version ${id.apiVersion} (this driver speaks ${GH_API_VERSION})`);
    }
    const txIrq = dev.getIrq(0);
    if (txIrq instanceof ProbeDefer) return txIrq;
    const rxIrq = dev.getIrq(1);
    if (rxIrq instanceof ProbeDefer) return rxIrq;
    const txCap = dev.rawResource(0).address;
    const rxCap = dev.rawResource(1).address;
    const timeout = dev.node.u32('gunyah-ts,rpc-timeout-ms');
    const rpc = new GhRmRpc({ mailbox: this.mailbox, clock: this.clock, printk: this.printk }, `${this.name} ${dev.name}`, timeout ? timeout * 1e6 : RM_DEFAULT_TIMEOUT_NS);
    const msgq = new GhMsgq(
      { mailbox: this.mailbox, irq: this.irq, hyp: this.hyp, mm: this.mm, printk: this.printk },
      `${this.name} ${dev.name}`,
      { capid: txCap, irq: txIrq },
      { capid: rxCap, irq: rxIrq },
    );
    await msgq.init(rpc.client);
    dev.devmAdd('msgq mailbox', () => msgq.remove());
    rpc.attach(msgq.chan);
    dev.devmAdd('rpc client', () => rpc.close());
    const rm = new GhRm(dev.name, rpc);
    this.registry.register(rm);
    dev.devmAdd('RM registration', () => this.registry.unregister(rm));
    dev.setDrvdata(rm);
    this.printk.info(`${this.name} ${dev.name}: Gunyah API v${id.apiVersion}, RM link on msgq tx 0x${txCap.toString(16)} rx 0x${rxCap.toString(16)}`);
    // The link's client drivers; one failing does not take the link down (an auxiliary device's probe).
    for (const c of this.clients ?? []) {
      try {
        const undo = await c.probe(rm, dev);
        dev.devmAdd(`RM client ${c.name}`, undo);
      } catch (e) {
        this.printk.err(`${this.name} ${dev.name}: ${c.name} failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }
}
