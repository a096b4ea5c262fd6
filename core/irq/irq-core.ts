// The generic IRQ layer: interrupt domains, virq descriptors, DT mapping, request/free of hard and
// threaded handlers, enable/disable, and the flow from a controller's root handler to the actions.
import { inject, injectable } from 'inversify';
import type { Cpu } from '../arch/cpu';
import { DeviceTree, DtQueryError, ofIrqParseOne, type DtNode } from '../../dt/index';
import { Errno } from '../errno';
import { OfError } from '../of/of-base';
import { Printk, Ratelimit, type PrintkImpl } from '../printk/printk';
import { Cpus, type CpusImpl } from '../kernel/cpus';
import { Clock, type ClockImpl } from '../time/clock';
import { IrqDomain } from './irq-domain';
import { IrqDesc, UNHANDLED_LIMIT, UNHANDLED_WINDOW } from './irq-desc';
import {
  IRQ_HANDLED,
  IRQ_NONE,
  IRQ_TYPE,
  IRQ_WAKE_THREAD,
  IRQF,
  isLevel,
  type IrqAction,
  type IrqChip,
  type IrqContext,
  type IrqDomainOps,
  type IrqHandler,
  type IrqThreadFn,
  type IrqType,
} from './irq-types';

/** The controller's entry from the IRQ vector (set_handle_irq): acknowledges and dispatches. */
export type RootIrqHandler = (cpu: Cpu) => void;

/** The interrupt-parent's domain is not registered yet: the caller should defer its probe. */
export class IrqDomainMissing {
  constructor(readonly controller: DtNode) {}
}

export interface RequestIrqOptions {
  name: string;
  flags?: number;
  devId?: unknown;
}

export const IrqCore = Symbol('IrqCore');
export type IrqCore = IrqCoreImpl;

@injectable()
export class IrqCoreImpl {
  private readonly descs = new Map<number, IrqDesc>();
  private readonly domains: IrqDomain[] = [];
  private nextVirq = 1;
  private rootHandler: RootIrqHandler | undefined;
  private readonly ipiHandlers = new Map<number, (cpu: Cpu) => void>();
  private readonly spuriousLimit: Ratelimit;
  /** Interrupts taken with no root handler, or whose INTID maps to no descriptor. */
  spuriousCount = 0;

  constructor(
    @inject(DeviceTree) private readonly tree: DeviceTree,
    @inject(Printk) private readonly printk: PrintkImpl,
    @inject(Cpus) private readonly cpus: CpusImpl,
    @inject(Clock) clock: ClockImpl,
  ) {
    this.spuriousLimit = new Ratelimit(() => clock.now());
  }

  // ---- domains and mappings ----

  addDomain(name: string, node: DtNode | undefined, ops: IrqDomainOps, chip: IrqChip): IrqDomain {
    if (node && this.domains.some((d) => d.node === node)) throw new Errno('EEXIST', `irq domain for ${node.path}`);
    const d = new IrqDomain(name, node, ops, chip);
    this.domains.push(d);
    return d;
  }

  /** Remove a domain and every mapping in it (the controller went away). */
  removeDomain(d: IrqDomain): void {
    for (const virq of d.mappings.values()) this.descs.delete(virq);
    d.mappings.clear();
    const i = this.domains.indexOf(d);
    if (i >= 0) this.domains.splice(i, 1);
  }

  findDomain(node: DtNode): IrqDomain | undefined {
    return this.domains.find((d) => d.node === node);
  }

  /** irq_create_mapping: the virq of (domain, hwirq), created on first use. */
  createMapping(domain: IrqDomain, hwirq: number, type: IrqType, percpu: boolean): number {
    const existing = domain.findMapping(hwirq);
    if (existing !== undefined) {
      const desc = this.descs.get(existing)!;
      if (type !== IRQ_TYPE.NONE && desc.type !== type && desc.actions.length === 0) desc.type = type;
      else if (type !== IRQ_TYPE.NONE && desc.type !== type) {
        this.printk.warn(`irq: type mismatch for hwirq ${hwirq} in ${domain.name}: ${type} vs ${desc.type}, keeping ${desc.type}`);
      }
      return existing;
    }
    const virq = this.nextVirq++;
    this.descs.set(virq, new IrqDesc(virq, hwirq, domain, type, percpu));
    domain.mappings.set(hwirq, virq);
    return virq;
  }

  /**
   * irq_of_parse_and_map / of_irq_get: interrupt `index` of `node` as a virq. Returns IrqDomainMissing
   * when the controller has not registered yet (probe should defer), undefined when there is no such
   * interrupt; throws OfError when the DT is wrong.
   */
  ofIrqGet(node: DtNode, index: number): number | IrqDomainMissing | undefined {
    let spec;
    try {
      spec = ofIrqParseOne(node, index);
    } catch (e) {
      if (e instanceof DtQueryError) throw new OfError(node.path, 'interrupts', e.message);
      throw e;
    }
    if (!spec) return undefined;
    const domain = this.findDomain(spec.controller);
    if (!domain) return new IrqDomainMissing(spec.controller);
    const fw = domain.ops.xlate(spec.args, node);
    return this.createMapping(domain, fw.hwirq, fw.type, fw.percpu);
  }

  desc(virq: number): IrqDesc | undefined {
    return this.descs.get(virq);
  }

  /** Every mapped interrupt (what /proc/interrupts lists). */
  list(): IrqDesc[] {
    return [...this.descs.values()].sort((a, b) => a.virq - b.virq);
  }

  // ---- request / free ----

  /** request_irq: a hard handler. */
  requestIrq(virq: number, handler: IrqHandler, opts: RequestIrqOptions): Promise<void> {
    return this.requestThreadedIrq(virq, handler, undefined, opts);
  }

  /**
   * request_threaded_irq. With no hard handler the thread is woken for every interrupt, which needs
   * IRQF_ONESHOT on a level interrupt (as Linux insists) so the line stays masked until it ran.
   */
  async requestThreadedIrq(virq: number, handler: IrqHandler | undefined, thread: IrqThreadFn | undefined, opts: RequestIrqOptions): Promise<void> {
    const desc = this.descs.get(virq);
    if (!desc) throw new Errno('EINVAL', `irq ${virq} is not mapped`);
    if (!handler && !thread) throw new Errno('EINVAL', `irq ${virq}: neither a handler nor a thread`);
    const flags = opts.flags ?? 0;
    if (!handler && isLevel(desc.type) && !(flags & IRQF.ONESHOT)) {
      throw new Errno('EINVAL', `irq ${virq} (${opts.name}): threaded level interrupt without IRQF_ONESHOT`);
    }
    if (desc.actions.length > 0) {
      const shared = desc.actions.every((a) => a.flags & IRQF.SHARED) && flags & IRQF.SHARED;
      if (!shared || desc.percpu) throw new Errno('EBUSY', `irq ${virq} already requested by ${desc.name}`);
    }
    const action: IrqAction = { name: opts.name, flags, handler, thread, devId: opts.devId, threadWake: false };
    desc.actions.push(action);
    if (desc.actions.length === 1) {
      desc.unhandled = 0;
      desc.windowCount = 0;
      desc.spuriousDisabled = false;
      const cpu = this.cpus.boot.cpu;
      if (!desc.percpu) {
        if (desc.domain.chip.setType && desc.type !== IRQ_TYPE.NONE) await desc.domain.chip.setType(desc, desc.type, cpu);
        if (!(flags & IRQF.NO_AUTOEN)) await this.enableIrq(virq);
      }
    }
  }

  /** free_irq: remove the action registered with `devId` (or the only one) and wait for its thread. */
  async freeIrq(virq: number, devId?: unknown): Promise<void> {
    const desc = this.descs.get(virq);
    if (!desc) throw new Errno('EINVAL', `irq ${virq} is not mapped`);
    const i = desc.actions.findIndex((a) => devId === undefined || a.devId === devId);
    if (i < 0) throw new Errno('ENOENT', `irq ${virq}: no action for that device`);
    desc.actions.splice(i, 1);
    if (desc.actions.length === 0) {
      if (!desc.percpu && desc.depth === 0) await desc.domain.chip.mask(desc, this.cpus.boot.cpu);
      desc.depth = 1;
      desc.oneshotMasked = false;
    }
    await this.synchronizeIrq(virq);
  }

  /** Wait until no threaded handler of `virq` is running. */
  async synchronizeIrq(virq: number): Promise<void> {
    const desc = this.descs.get(virq);
    while (desc?.threadRunning) await desc.threadRunning;
  }

  async enableIrq(virq: number): Promise<void> {
    const desc = this.mustDesc(virq);
    if (desc.depth === 0) {
      this.printk.warn(`irq ${virq}: unbalanced enable_irq`);
      return;
    }
    if (--desc.depth === 0 && !desc.oneshotMasked) await desc.domain.chip.unmask(desc, this.cpus.boot.cpu);
  }

  async disableIrq(virq: number): Promise<void> {
    await this.disableIrqNosync(virq);
    await this.synchronizeIrq(virq);
  }

  /**
   * disable_irq_nosync: mask without waiting for a running thread, so a handler can disable its own
   * line (a oneshot thread then leaves it masked when it finishes).
   */
  async disableIrqNosync(virq: number): Promise<void> {
    const desc = this.mustDesc(virq);
    if (desc.depth++ === 0 && !desc.oneshotMasked) await desc.domain.chip.mask(desc, this.cpus.boot.cpu);
  }

  /** enable_percpu_irq: unmask a banked interrupt on `cpu` (each CPU does its own). */
  async enablePercpuIrq(virq: number, cpu: Cpu, type: IrqType = IRQ_TYPE.NONE): Promise<void> {
    const desc = this.mustDesc(virq);
    if (!desc.percpu) throw new Errno('EINVAL', `irq ${virq} is not per-CPU`);
    const t = type === IRQ_TYPE.NONE ? desc.type : type;
    if (desc.domain.chip.setType && t !== IRQ_TYPE.NONE) await desc.domain.chip.setType(desc, t, cpu);
    await desc.domain.chip.unmask(desc, cpu);
    desc.depth = 0;
  }

  async disablePercpuIrq(virq: number, cpu: Cpu): Promise<void> {
    const desc = this.mustDesc(virq);
    await desc.domain.chip.mask(desc, cpu);
  }

  private mustDesc(virq: number): IrqDesc {
    const desc = this.descs.get(virq);
    if (!desc) throw new Errno('EINVAL', `irq ${virq} is not mapped`);
    return desc;
  }

  // ---- the flow from the vector ----

  /** set_handle_irq: the root controller's entry. */
  setRootHandler(h: RootIrqHandler | undefined): void {
    this.rootHandler = h;
  }

  get hasRootHandler(): boolean {
    return this.rootHandler !== undefined;
  }

  /** The vector every CPU of this kernel installs. */
  handleArchIrq(cpu: Cpu): void {
    if (this.rootHandler) {
      this.rootHandler(cpu);
      return;
    }
    // No controller driver yet: acknowledge and end whatever is pending so it cannot stay active.
    for (let n = 0; n < 64; n++) {
      const intid = cpu.gicAcknowledge();
      if (intid >= 1020) break;
      cpu.gicEndOfInterrupt(intid);
      this.noteSpurious(`INTID ${intid} before any interrupt controller driver`);
    }
  }

  /** Register the handler of SGI `nr` (an IPI). */
  setIpiHandler(nr: number, fn: ((cpu: Cpu) => void) | undefined): void {
    if (fn) this.ipiHandlers.set(nr, fn);
    else this.ipiHandlers.delete(nr);
  }

  handleIpi(nr: number, cpu: Cpu): void {
    const fn = this.ipiHandlers.get(nr);
    if (fn) fn(cpu);
    else this.noteSpurious(`IPI ${nr} with no handler on CPU${cpu.index}`);
  }

  private noteSpurious(what: string): void {
    this.spuriousCount++;
    const r = this.spuriousLimit.allow();
    if (r.ok) this.printk.err(`spurious interrupt: ${what}${r.suppressed ? ` (${r.suppressed} similar suppressed)` : ''}`);
  }

  /**
   * generic_handle_domain_irq: run the actions of (domain, hwirq) taken on `cpu`. The controller
   * acknowledges before and ends (EOI) after this returns, or, when a promise is returned, once it
   * settles: a oneshot level interrupt must be masked before its EOI (or the still-asserted line fires
   * again at once), and the mask is an MMIO write that completes at the next preemption point.
   */
  handleDomainIrq(domain: IrqDomain, hwirq: number, cpu: Cpu): Promise<void> | undefined {
    const virq = domain.findMapping(hwirq);
    const desc = virq === undefined ? undefined : this.descs.get(virq);
    if (!desc) {
      this.noteSpurious(`${domain.name} hwirq ${hwirq} is not mapped`);
      return undefined;
    }
    desc.counts[cpu.index] = (desc.counts[cpu.index] ?? 0) + 1;
    if (desc.actions.length === 0) {
      this.noteSpurious(`irq ${desc.virq} (${domain.name} hwirq ${hwirq}) has no handler; masking it`);
      return this.chipCall(desc, () => desc.domain.chip.mask(desc, cpu));
    }
    const ctx: IrqContext = { virq: desc.virq, hwirq, cpu };
    let result: number = IRQ_NONE;
    let wake = false;
    for (const a of desc.actions) {
      let r: number;
      try {
        r = a.handler ? a.handler(ctx) : IRQ_WAKE_THREAD;
      } catch (e) {
        this.printk.err(`irq ${desc.virq} (${a.name}): handler threw: ${e instanceof Error ? e.message : String(e)}`);
        r = IRQ_HANDLED;
      }
      if (r === IRQ_WAKE_THREAD) {
        if (a.thread) {
          a.threadWake = true;
          wake = true;
        } else {
          this.printk.warn(`irq ${desc.virq} (${a.name}): IRQ_WAKE_THREAD without a thread`);
        }
        r = IRQ_HANDLED;
      }
      result |= r;
    }
    let eoiAfter = this.noteInterrupt(desc, result !== IRQ_NONE, cpu);
    if (wake) {
      // A oneshot level interrupt stays masked until its thread ran, so it cannot fire again meanwhile.
      if (isLevel(desc.type) && desc.actions.some((a) => a.flags & IRQF.ONESHOT) && !desc.oneshotMasked) {
        desc.oneshotMasked = true;
        eoiAfter = this.chipCall(desc, () => desc.domain.chip.mask(desc, cpu));
      }
      desc.threadPending = true;
      if (!desc.threadRunning) desc.threadRunning = this.runThreads(desc, ctx);
    }
    return eoiAfter;
  }

  private async runThreads(desc: IrqDesc, ctx: IrqContext): Promise<void> {
    try {
      // An interrupt taken while the unmask was in flight finds this thread still running: it only
      // sets threadPending (and masks the line again), so go round until nothing is pending
      // (irq_finalize_oneshot's IRQTF_RUNTHREAD recheck).
      do {
        while (desc.threadPending) {
          desc.threadPending = false;
          for (const a of [...desc.actions]) {
            if (!a.threadWake || !a.thread) continue;
            a.threadWake = false;
            try {
              await a.thread(ctx);
            } catch (e) {
              this.printk.err(`irq ${desc.virq} (${a.name}): thread failed: ${e instanceof Error ? e.message : String(e)}`);
            }
          }
        }
        if (desc.oneshotMasked) {
          desc.oneshotMasked = false;
          if (desc.depth === 0 && desc.actions.length > 0) await desc.domain.chip.unmask(desc, ctx.cpu);
        }
      } while (desc.threadPending);
    } finally {
      desc.threadRunning = undefined;
    }
  }

  /** note_interrupt: count unclaimed interrupts and disable a line nobody handles. */
  private noteInterrupt(desc: IrqDesc, handled: boolean, cpu: Cpu): Promise<void> | undefined {
    if (++desc.windowCount >= UNHANDLED_WINDOW) {
      desc.windowCount = 0;
      desc.unhandled = 0;
    }
    if (handled) return undefined;
    if (++desc.unhandled > UNHANDLED_LIMIT && !desc.spuriousDisabled) {
      this.printk.emerg(`irq ${desc.virq}: nobody cared; disabling IRQ #${desc.virq}`);
      desc.spuriousDisabled = true;
      desc.depth++;
      return this.chipCall(desc, () => desc.domain.chip.mask(desc, cpu));
    }
    return undefined;
  }

  private async chipCall(desc: IrqDesc, op: () => Promise<void>): Promise<void> {
    try {
      await op();
    } catch (e) {
      this.printk.err(`irq ${desc.virq}: ${desc.domain.chip.name} chip op failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

