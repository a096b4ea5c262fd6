// Guest memory regions of a VM (vm_mgr_mm.c, v14): GH_VM_SET_USER_MEM_REGION checks and records a
// region of the VMM's memory; GH_VM_START shares each one with the VM as its own memory parcel (ACL:
// the VM with the region's rights, this VM with RWX, as v11..v14 do since lending was dropped), and
// teardown reclaims it. In the primary VM user memory is identity mapped (VA = IPA) and anonymous
// mappings are physically contiguous, so a region is one SGL entry.
import { Errno, PAGE_SIZE, type IoContext, type PageAllocator } from '../../../../core/index';
import { GH_RM_ACL, GH_RM_MEM_TYPE, type GhRmMemParcel } from '../rm-calls-mem';
import { GH_MEM_ALLOW_EXEC, GH_MEM_ALLOW_READ, GH_MEM_ALLOW_WRITE } from './uapi';

const PAGE = BigInt(PAGE_SIZE);
const U64_END = 1n << 64n;
/** GH_MEM_HANDLE_INVAL: no parcel yet. */
export const GH_MEM_HANDLE_INVAL = 0xffff_ffff;
/** Regions per VM (the RM keeps at most 64 memparcels per owner VM). */
export const GH_VM_MAX_MEM_REGIONS = 64;

export interface GhVmMem {
  readonly label: number;
  readonly flags: number;
  readonly guestPhysAddr: bigint;
  readonly size: bigint;
  readonly userspaceAddr: bigint;
  /** Lent (the VM's alone) rather than shared with this VM. */
  readonly lend: boolean;
  /** The parcel's handle once lent or shared, GH_MEM_HANDLE_INVAL before. */
  handle: number;
}

export interface UserMemoryRegion {
  label: number;
  flags: number;
  guest_phys_addr: bigint;
  memory_size: bigint;
  userspace_addr: bigint;
}

const aligned = (v: bigint) => v % PAGE === 0n;

export class VmMemory {
  readonly regions: GhVmMem[] = [];

  constructor(private readonly pages: PageAllocator) {}

  /** gh_vm_mem_alloc (v14): every check in the driver's order, then "pin" (check the mapping). */
  add(r: UserMemoryRegion, ctx: IoContext, lend = false): GhVmMem {
    if ((r.flags & ~(GH_MEM_ALLOW_READ | GH_MEM_ALLOW_WRITE | GH_MEM_ALLOW_EXEC)) !== 0) throw new Errno('EINVAL', `memory region flags 0x${r.flags.toString(16)}`);
    if (r.memory_size === 0n || !aligned(r.memory_size) || !aligned(r.userspace_addr) || !aligned(r.guest_phys_addr)) {
      throw new Errno('EINVAL', 'memory region size, user address and guest address must be page aligned and the size non-zero');
    }
    if (r.guest_phys_addr + r.memory_size >= U64_END) throw new Errno('EOVERFLOW', 'guest_phys_addr + memory_size overflows');
    if (this.regions.some((m) => m.label === r.label)) throw new Errno('EEXIST', `a memory region with label ${r.label} exists`);
    const end = r.guest_phys_addr + r.memory_size;
    if (this.regions.some((m) => r.guest_phys_addr < m.guestPhysAddr + m.size && m.guestPhysAddr < end)) {
      throw new Errno('EEXIST', `memory region 0x${r.guest_phys_addr.toString(16)}+0x${r.memory_size.toString(16)} overlaps another`);
    }
    if (this.regions.length >= GH_VM_MAX_MEM_REGIONS) throw new Errno('ENOMEM', `${GH_VM_MAX_MEM_REGIONS} memory regions`);
    // pin_user_pages_fast(FOLL_WRITE | FOLL_LONGTERM): the whole range must be mapped writable.
    if (!ctx.accessOk) throw new Errno('EFAULT', 'the caller has no user address space');
    ctx.accessOk(r.userspace_addr, r.memory_size, true);
    // The pages stay the VM's until reclaimed, whatever the VMM unmaps meanwhile.
    this.pages.pin(r.userspace_addr, Number(r.memory_size / PAGE));
    const m: GhVmMem = {
      label: r.label,
      flags: r.flags,
      guestPhysAddr: r.guest_phys_addr,
      size: r.memory_size,
      userspaceAddr: r.userspace_addr,
      lend,
      handle: GH_MEM_HANDLE_INVAL,
    };
    this.regions.push(m);
    return m;
  }

  /** Release a region's pin (after its parcel was reclaimed, or was never made). */
  unpin(m: GhVmMem): void {
    this.pages.unpin(m.userspaceAddr, Number(m.size / PAGE));
  }

  /** The region holding [gpa, gpa + size) entirely (gh_vm_mem_find_by_addr). */
  findByAddr(gpa: bigint, size: bigint): GhVmMem | undefined {
    return this.regions.find((m) => gpa >= m.guestPhysAddr && gpa + size <= m.guestPhysAddr + m.size);
  }

  /**
   * The parcel GH_VM_START makes of `m`: lent, the guest alone with the region's rights; shared, the
   * guest with those and this VM with RWX.
   */
  static parcel(m: GhVmMem, guestVmid: number, selfVmid: number): GhRmMemParcel {
    let perms = 0;
    if (m.flags & GH_MEM_ALLOW_READ) perms |= GH_RM_ACL.R;
    if (m.flags & GH_MEM_ALLOW_WRITE) perms |= GH_RM_ACL.W;
    if (m.flags & GH_MEM_ALLOW_EXEC) perms |= GH_RM_ACL.X;
    return {
      memType: GH_RM_MEM_TYPE.NORMAL,
      label: m.label,
      acl: m.lend
        ? [{ vmid: guestVmid, perms }]
        : [
            { vmid: guestVmid, perms },
            // The host is assumed to hold RWX; Gunyah grants nothing it did not have.
            { vmid: selfVmid, perms: GH_RM_ACL.R | GH_RM_ACL.W | GH_RM_ACL.X },
          ],
      sgl: [{ ipa: m.userspaceAddr, size: m.size }],
    };
  }
}
