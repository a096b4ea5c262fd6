// IRQ lending (spec §22; RM's irq_manager.c): a VM that owns a hardware IRQ (bound to its VIC)
// lends it to another VM, which accepts it at a VIRQ of its own; release and reclaim undo that.
// Handles are a random base plus the hardware IRQ number, as the RM makes them.
import { RmMsg, RmNotif } from '../abi/message-ids';
import { irqHandlePayload, irqLentPayload } from '../abi/notifications';
import { RmErr, RmError } from '../abi/rm-error';
import type { ResourceManager } from '../resource-manager';
import type { RmRequest } from '../server/rpc-server';
import { PayloadWriter } from '../wire/payload-writer';
import type { Vm } from './vm';

/** VIRQ_NUM_INVALID: "pick the number for me" in VM_IRQ_ACCEPT. */
const VIRQ_NUM_INVALID = 0xffff_ffff;
export const IrqNotifyFlag = { LENT: 1, RELEASED: 2, ACCEPTED: 4 } as const;

interface HwIrq {
  hwIrq: number;
  cap: bigint;
  owner: number;
  /** The VIRQ it is bound to in its owner. */
  ownerVirq: number;
  lending: { handle: number; borrower: number; label: number; borrowerVirq: number | undefined } | undefined;
}

export class IrqLending {
  private readonly irqs = new Map<number, HwIrq>();
  /** irq_handle_rand_base: a per-boot base so handles are not guessable; fixed by the seed here. */
  private handleBase = 0x1000;

  constructor(private readonly rm: ResourceManager) {}

  setHandleBase(base: number): void {
    this.handleBase = base >>> 0;
  }

  /** A hardware IRQ the platform bound to `owner` at VIRQ `virq` (the HLOS's, at boot). */
  addHwIrq(hwIrq: number, cap: bigint, owner: number, virq: number): void {
    this.irqs.set(hwIrq, { hwIrq, cap, owner, ownerVirq: virq, lending: undefined });
  }

  private byHandle(handle: number): HwIrq {
    const hw = this.irqs.get((handle - this.handleBase) >>> 0);
    if (!hw?.lending || hw.lending.handle !== handle) throw new RmError(RmErr.HANDLE_INVALID, `no lent IRQ with handle 0x${handle.toString(16)}`);
    return hw;
  }

  private vic(vm: Vm): bigint {
    const v = vm.objects?.vic;
    if (v === undefined) throw new RmError(RmErr.ARGUMENT_INVALID, `VM ${vm.vmid} has no interrupt controller`);
    return v;
  }

  /** Reset stage: give back IRQs the VM borrowed and reclaim those it lent. */
  releaseAll(vm: Vm): void {
    for (const hw of this.irqs.values()) {
      if (hw.lending?.borrower === vm.vmid) hw.lending.borrowerVirq = undefined;
    }
  }

  register(): void {
    const rpc = this.rm.rpc;
    const hyp = this.rm.hyp;
    const exact = (req: RmRequest, n: number) => {
      if (req.body.remaining !== n) throw new RmError(RmErr.MSG_INVALID, `payload must be ${n} bytes`);
    };

    rpc.handle(RmMsg.VM_IRQ_LEND, async (req) => {
      exact(req, 12);
      const borrower = req.body.u16('borrower');
      req.body.u16();
      const virq = req.body.u32('virq');
      const label = req.body.u32('label');
      const hw = [...this.irqs.values()].find((h) => h.owner === req.client && h.ownerVirq === virq);
      if (!hw) throw new RmError(RmErr.IRQ_INVALID, `VM ${req.client} owns no hardware IRQ at VIRQ ${virq}`);
      if (hw.lending) throw new RmError(RmErr.IRQ_INUSE, 'already lent');
      await hyp.hwirqUnbindVirq(hw.cap);
      const handle = (this.handleBase + hw.hwIrq) >>> 0;
      hw.lending = { handle, borrower, label, borrowerVirq: undefined };
      return new PayloadWriter(4).u32(handle).finish();
    });

    rpc.handle(RmMsg.VM_IRQ_ACCEPT, async (req) => {
      exact(req, 8);
      const hw = this.byHandle(req.body.u32('handle'));
      let virq = req.body.u32('virq');
      const l = hw.lending!;
      if (l.borrower !== req.client) throw new RmError(RmErr.HANDLE_INVALID, 'not lent to this VM');
      if (l.borrowerVirq !== undefined) throw new RmError(RmErr.IN_USE, 'already accepted');
      if (virq === VIRQ_NUM_INVALID) virq = hw.hwIrq; // 1:1, so trusted VMs can validate it
      const vm = this.rm.vm(req.client);
      try {
        await hyp.hwirqBindVirq(hw.cap, this.vic(vm), virq);
      } catch (e) {
        if (e instanceof RmError) throw e;
        throw new RmError(RmErr.ARGUMENT_INVALID, `VIRQ ${virq} cannot be bound`);
      }
      l.borrowerVirq = virq;
      return new PayloadWriter(4).u32(virq).finish();
    });

    rpc.handle(RmMsg.VM_IRQ_RELEASE, async (req) => {
      exact(req, 4);
      const hw = this.byHandle(req.body.u32('handle'));
      const l = hw.lending!;
      if (l.borrower !== req.client) throw new RmError(RmErr.HANDLE_INVALID, 'not lent to this VM');
      if (l.borrowerVirq === undefined) throw new RmError(RmErr.IN_USE, 'not accepted');
      await hyp.hwirqUnbindVirq(hw.cap);
      l.borrowerVirq = undefined;
    });

    rpc.handle(RmMsg.VM_IRQ_RECLAIM, async (req) => {
      exact(req, 4);
      const hw = this.byHandle(req.body.u32('handle'));
      const l = hw.lending!;
      if (l.borrower === req.client) throw new RmError(RmErr.HANDLE_INVALID, 'the borrower releases, it does not reclaim');
      if (l.borrowerVirq !== undefined) throw new RmError(RmErr.IN_USE, 'still accepted');
      if (hw.owner !== req.client) throw new RmError(RmErr.IRQ_INVALID, 'not the owner');
      await hyp.hwirqBindVirq(hw.cap, this.vic(this.rm.vm(hw.owner)), hw.ownerVirq);
      hw.lending = undefined;
    });

    rpc.handle(RmMsg.VM_IRQ_NOTIFY, async (req) => {
      if (req.body.remaining < 8) throw new RmError(RmErr.MSG_INVALID, 'payload shorter than 8 bytes');
      const handle = req.body.u32('handle');
      const flags = req.body.u32('flags');
      if (flags !== IrqNotifyFlag.LENT && req.body.remaining !== 0) throw new RmError(RmErr.MSG_INVALID, 'trailing bytes');
      const hw = this.byHandle(handle);
      const l = hw.lending!;
      if (flags === IrqNotifyFlag.LENT) {
        let list: number[] = [];
        if (req.body.remaining > 0) {
          if (req.body.remaining < 4) throw new RmError(RmErr.MSG_INVALID, 'truncated VMID list');
          const n = req.body.u16();
          req.body.u16();
          if (req.body.remaining !== n * 4) throw new RmError(RmErr.MSG_INVALID, 'VMID list length mismatch');
          list = Array.from({ length: n }, () => {
            const v = req.body.u16();
            req.body.u16();
            return v;
          });
        }
        if (hw.owner !== req.client) throw new RmError(RmErr.HANDLE_INVALID, 'not the owner');
        if (l.borrowerVirq !== undefined) throw new RmError(RmErr.IRQ_INUSE, 'already accepted');
        if (list.length > 1 || (list.length === 1 && list[0] !== l.borrower)) throw new RmError(RmErr.ARGUMENT_INVALID, 'the only VM to notify is the borrower');
        await rpc.notify(l.borrower, RmNotif.VM_IRQ_LENT, irqLentPayload(hw.owner, handle, l.label));
      } else if (flags === IrqNotifyFlag.RELEASED || flags === IrqNotifyFlag.ACCEPTED) {
        if (l.borrower !== req.client) throw new RmError(RmErr.HANDLE_INVALID, 'not the borrower');
        const accepted = flags === IrqNotifyFlag.ACCEPTED;
        if (accepted && l.borrowerVirq === undefined) throw new RmError(RmErr.IRQ_RELEASED, 'not accepted');
        if (!accepted && l.borrowerVirq !== undefined) throw new RmError(RmErr.IRQ_INUSE, 'still accepted');
        await rpc.notify(hw.owner, accepted ? RmNotif.VM_IRQ_ACCEPTED : RmNotif.VM_IRQ_RELEASED, irqHandlePayload(handle));
      } else throw new RmError(RmErr.ARGUMENT_INVALID, `notify flags ${flags}`);
    });
  }
}
