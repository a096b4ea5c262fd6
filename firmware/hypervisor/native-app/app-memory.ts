// Guest memory as a native app sees it: the guest-physical ranges it was granted, reached through the
// guest's own stage 2 (so memory the guest no longer has, or has only read-only, is refused there
// too). A copy is checked end to end before any byte moves: a refused copy changes nothing.
import { Access } from '../abi/memory';
import { ObjectState } from '../abi/objects';
import type { Hypervisor } from '../hypervisor';
import type { Addrspace } from '../mem/addrspace';

/** A guest-physical range granted to an app. */
export interface AppGrant {
  readonly ipa: bigint;
  readonly size: bigint;
  readonly writable: boolean;
}

/** Most grants per app. */
export const APP_MAX_GRANTS = 16;

interface Range {
  start: number;
  end: number;
  writable: boolean;
}

export class AppMemory {
  private readonly ranges: Range[] = [];

  constructor(
    private readonly hv: Hypervisor,
    private readonly as: Addrspace,
    grants: readonly AppGrant[],
  ) {
    if (grants.length > APP_MAX_GRANTS) throw new RangeError(`${grants.length} grants (at most ${APP_MAX_GRANTS})`);
    for (const g of grants) {
      const end = g.ipa + g.size;
      if (g.ipa < 0n || g.size <= 0n || end > BigInt(as.ipaLimit)) throw new RangeError(`grant 0x${g.ipa.toString(16)}+0x${g.size.toString(16)} is outside the VM's IPA space`);
      this.ranges.push({ start: Number(g.ipa), end: Number(end), writable: g.writable });
    }
  }

  /** The RAM a VM has in its stage 2 now, as read-write grants (the default: all of it). */
  static allRam(hv: Hypervisor, as: Addrspace): AppGrant[] {
    const out: AppGrant[] = [];
    for (const e of as.s2.entries()) {
      if (!hv.machine.mem.isRam(e.value.pa, e.end - e.start) || (e.value.k & Access.R) === 0) continue;
      const last = out[out.length - 1];
      if (last && last.ipa + last.size === BigInt(e.start)) out[out.length - 1] = { ipa: last.ipa, size: last.size + BigInt(e.end - e.start), writable: true };
      else out.push({ ipa: BigInt(e.start), size: BigInt(e.end - e.start), writable: true });
    }
    return out.slice(0, APP_MAX_GRANTS);
  }

  private granted(a: number, len: number, write: boolean): boolean {
    for (const r of this.ranges) if (a >= r.start && a + len <= r.end) return !write || r.writable;
    return false;
  }

  /** Copy between `buf` and guest memory at `gpa`; false (nothing copied) when any byte is refused. */
  copy(gpa: bigint, buf: Uint8Array, write: boolean): boolean {
    const len = buf.length;
    if (len === 0) return true;
    if (gpa < 0n || gpa + BigInt(len) > BigInt(Number.MAX_SAFE_INTEGER)) return false;
    const ipa = Number(gpa);
    if (this.as.state !== ObjectState.ACTIVE || !this.granted(ipa, len, write)) return false;
    const s2 = this.as.s2;
    const mem = this.hv.machine.mem;
    const need = write ? Access.W : Access.R;
    for (let pass = 0; pass < 2; pass++) {
      for (let off = 0; off < len; ) {
        const a = ipa + off;
        const i = s2.indexOf(a);
        if (i < 0) return false;
        const e = s2.valueAt(i);
        const n = Math.min(len - off, s2.endAt(i) - a);
        const pa = e.pa + (a - s2.startAt(i));
        if ((e.k & need) === 0 || !mem.isRam(pa, n)) return false;
        if (pass === 1) {
          if (write) mem.write(pa, buf, off, n);
          else mem.read(pa, buf, off, n);
        }
        off += n;
      }
    }
    return true;
  }
}
