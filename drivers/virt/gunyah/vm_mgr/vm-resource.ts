// Hypervisor resources of a VM and the tickets VM functions take for them (vm_mgr.c's resource
// tickets, rsc_mgr.c's gh_rm_alloc_resource): a resource from VM_GET_HYP_RESOURCES goes to the ticket
// of the same (type, label) when there is one (populate), else waits unclaimed for a ticket added
// later. A resource's VIRQ becomes a kernel IRQ through the RM node's interrupt parent (SPIs and
// extended SPIs, rising edge, as gh_rm_create_irq maps them).
import { Errno, IRQ_TYPE, type IrqCoreImpl, type PrintkImpl } from '../../../../core/index';
import { ofIrqFindParent, type DtNode } from '../../../../dt/index';
import type { GhRmHypResource } from '../rm-calls-vm';
import { Mutex } from './sync';

/** GH_RESOURCE_TYPE_* as Linux names them (the RM's numbering of the same entries). */
export const GH_RESOURCE_TYPE = { BELL_TX: 0, BELL_RX: 1, MSGQ_TX: 2, MSGQ_RX: 3, VCPU: 4 } as const;
/** GH_RM_RESOURCE_NO_VIRQ. */
export const GH_RM_RESOURCE_NO_VIRQ = 0xffff_ffff;

/** INTID ranges a resource VIRQ may use. */
const SPI_FIRST = 32;
const SPI_LAST = 1019;
const ESPI_FIRST = 4096;
const ESPI_LAST = 5119;
/** GIC DT specifier types. */
const GIC_SPI = 0;
const GIC_ESPI = 2;

export interface GhResource {
  readonly type: number;
  readonly capid: bigint;
  readonly rmLabel: number;
  /** The INTID the RM bound in this VM's VIC, 0 when none. */
  readonly virq: number;
  /** The kernel IRQ number it is mapped to, 0 when none. */
  readonly irq: number;
}

export interface GhResourceTicket {
  readonly resourceType: number;
  readonly label: number;
  /** Take the resource; false refuses it (it stays unclaimed). */
  populate(r: GhResource): Promise<boolean> | boolean;
  unpopulate(r: GhResource): Promise<void> | void;
}

/** Maps RM VIRQs to kernel IRQs through the RM node's interrupt controller. */
export class RmIrqMapper {
  constructor(
    private readonly irq: IrqCoreImpl,
    private readonly rmNode: DtNode,
  ) {}

  /** The kernel IRQ for INTID `virq`; EINVAL outside the SPI and extended SPI ranges, ENODEV with no controller. */
  map(virq: number): number {
    let cells: number[];
    if (virq >= SPI_FIRST && virq <= SPI_LAST) cells = [GIC_SPI, virq - SPI_FIRST, IRQ_TYPE.EDGE_RISING];
    else if (virq >= ESPI_FIRST && virq <= ESPI_LAST) cells = [GIC_ESPI, virq - ESPI_FIRST, IRQ_TYPE.EDGE_RISING];
    else throw new Errno('EINVAL', `resource VIRQ ${virq} is neither an SPI nor an extended SPI`);
    const parent = ofIrqFindParent(this.rmNode);
    const domain = parent && this.irq.findDomain(parent);
    if (!domain) throw new Errno('ENODEV', `${this.rmNode.path}: no interrupt controller to map VIRQ ${virq}`);
    const fw = domain.ops.xlate(cells, this.rmNode);
    return this.irq.createMapping(domain, fw.hwirq, fw.type, fw.percpu);
  }
}

/** gh_rm_alloc_resource: a table entry as a resource with its IRQ mapped (throws when it cannot be). */
export function allocResource(e: GhRmHypResource, mapper: RmIrqMapper): GhResource {
  const irq = e.virq !== 0 && e.virq !== GH_RM_RESOURCE_NO_VIRQ ? mapper.map(e.virq) : 0;
  return { type: e.type, capid: e.capid, rmLabel: e.resourceLabel, virq: irq ? e.virq : 0, irq };
}

interface Held {
  ticket: GhResourceTicket;
  resources: GhResource[];
}

/** A VM's tickets and resources. */
export class ResourceTable {
  private readonly lock = new Mutex();
  private readonly tickets: Held[] = [];
  private unclaimed: GhResource[] = [];

  constructor(private readonly printk: PrintkImpl) {}

  get unclaimedCount(): number {
    return this.unclaimed.length;
  }

  /** gh_vm_add_resource_ticket: EEXIST for a second ticket of the same (type, label). */
  addTicket(t: GhResourceTicket): Promise<void> {
    return this.lock.with(async () => {
      if (this.tickets.some((h) => h.ticket.resourceType === t.resourceType && h.ticket.label === t.label)) {
        throw new Errno('EEXIST', `a resource ticket for type ${t.resourceType} label ${t.label} exists`);
      }
      const held: Held = { ticket: t, resources: [] };
      this.tickets.push(held);
      for (const r of [...this.unclaimed]) {
        if (r.type === t.resourceType && r.rmLabel === t.label && (await t.populate(r))) {
          this.unclaimed = this.unclaimed.filter((x) => x !== r);
          held.resources.push(r);
        }
      }
    });
  }

  /** gh_vm_remove_resource_ticket: its resources are unpopulated and go back to the unclaimed list. */
  removeTicket(t: GhResourceTicket): Promise<void> {
    return this.lock.with(async () => {
      const i = this.tickets.findIndex((h) => h.ticket === t);
      if (i < 0) return;
      const [held] = this.tickets.splice(i, 1);
      for (const r of held!.resources) {
        await t.unpopulate(r);
        this.unclaimed.push(r);
      }
    });
  }

  /** gh_vm_add_resource: to the matching ticket (if it accepts), else unclaimed. */
  addResource(r: GhResource): Promise<void> {
    return this.lock.with(async () => {
      const held = this.tickets.find((h) => h.ticket.resourceType === r.type && h.ticket.label === r.rmLabel);
      if (held && (await held.ticket.populate(r))) held.resources.push(r);
      else this.unclaimed.push(r);
    });
  }

  /** gh_vm_clean_resources: dangling tickets are removed (with a warning) and every resource is dropped. */
  async clean(): Promise<void> {
    for (const h of [...this.tickets]) {
      this.printk.warn(`gh_vm_mgr: dangling resource ticket type ${h.ticket.resourceType} label ${h.ticket.label}`);
      await this.removeTicket(h.ticket);
    }
    this.unclaimed = [];
  }
}
