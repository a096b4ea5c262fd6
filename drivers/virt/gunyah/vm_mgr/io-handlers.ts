// In-kernel MMIO write handlers (vm_mgr.c's gh_vm_io_handler tree): a guest MMIO write that one
// claims is consumed without a vCPU exit to userspace (ioeventfd). A handler matches an address, an
// access length (0: any) and optionally a data value.
//
// Linux keeps them in an rb-tree whose comparator looks at the `datamatch` flag rather than the data
// value, so two datamatch handlers on one address collide and a lookup cannot tell values apart; the
// documented intent (ioeventfd.rst, KVM's identical API) is to match on the value, which is what is
// done here.
import { Errno } from '../../../../core/index';

export interface GhVmIoHandler {
  readonly addr: bigint;
  /** Access length to match; 0 matches any length. */
  readonly len: number;
  /** Data to match, when set. */
  readonly datamatch: bigint | undefined;
  write(addr: bigint, len: number, data: bigint): void;
}

/** Handlers per VM; bounded so a VMM cannot grow kernel memory without limit. */
export const GH_VM_MAX_IO_HANDLERS = 1024;

export class IoHandlers {
  private readonly byAddr = new Map<bigint, GhVmIoHandler[]>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** gh_vm_add_io_handler: EINVAL for datamatch without a length, EEXIST for an overlapping key. */
  add(h: GhVmIoHandler): void {
    if (h.datamatch !== undefined && (h.len === 0 || h.len > 8)) throw new Errno('EINVAL', 'datamatch needs a length of 1..8 bytes');
    const list = this.byAddr.get(h.addr) ?? [];
    // Linux's comparator: a length-0 handler equals any handler at the address.
    if (list.some((o) => (o.len === 0 || h.len === 0 || o.len === h.len) && o.datamatch === h.datamatch)) {
      throw new Errno('EEXIST', `an io handler for 0x${h.addr.toString(16)} exists`);
    }
    if (this.count >= GH_VM_MAX_IO_HANDLERS) throw new Errno('ENOSPC', `${GH_VM_MAX_IO_HANDLERS} io handlers`);
    list.push(h);
    this.byAddr.set(h.addr, list);
    this.count++;
  }

  remove(h: GhVmIoHandler): void {
    const list = this.byAddr.get(h.addr);
    const i = list?.indexOf(h) ?? -1;
    if (!list || i < 0) return;
    list.splice(i, 1);
    if (list.length === 0) this.byAddr.delete(h.addr);
    this.count--;
  }

  /** gh_vm_mmio_write: true when a handler took the write (a value match wins over a catch-all). */
  write(addr: bigint, len: number, data: bigint): boolean {
    const list = this.byAddr.get(addr);
    if (!list) return false;
    const value = len >= 8 ? data : BigInt.asUintN(len * 8, data);
    const h = list.find((x) => x.datamatch !== undefined && x.len === len && x.datamatch === value) ?? list.find((x) => x.datamatch === undefined && (x.len === 0 || x.len === len));
    if (!h) return false;
    h.write(addr, len, value);
    return true;
  }
}
