// The invariant checker (ARCHITECTURE.md, "Invariants"): ownership, mappings, caps, scheduling.
import { ObjectState, ObjectType } from './abi/objects';
import type { Hypervisor } from './hypervisor';
import { Addrspace } from './mem/addrspace';
import { Memextent } from './mem/memextent';
import { recordsIn } from './mem/map-slots';
import { CapState } from './objects/cap-slot';
import { CSpace } from './objects/cspace';
import { Vcpu, VState } from './vm/vcpu';

const hex = (n: number): string => `0x${n.toString(16)}`;

export function checkInvariants(hv: Hypervisor): string[] {
  const bad: string[] = [];
  const live = (o: unknown): boolean => hv.objects.has(o as never) && (o as { alive: boolean }).alive;

  // 1. Every RAM page has exactly one owner, and owners are live objects.
  for (const r of hv.machine.mem.regions) {
    if (!coveredOnce(hv, r.base, r.base + r.size)) {
      bad.push(`RAM ${hex(r.base)}+${hex(r.size)} is not fully owned`);
    }
  }
  for (const e of hv.memdb.entries()) {
    if (!live(e.value)) bad.push(`memdb range ${hex(e.start)}..${hex(e.end)} is owned by a dead object #${e.value.id}`);
  }

  // 2. Stage 2 is exactly what the extents' records and ownership say.
  const addrspaces = [...hv.objects].filter((o): o is Addrspace => o instanceof Addrspace);
  for (const as of addrspaces) {
    for (const e of as.s2.entries()) {
      const len = e.end - e.start;
      const ext = e.value.ext;
      if (!(ext instanceof Memextent) || !live(ext)) {
        bad.push(`VM ${as.vmid}: IPA ${hex(e.start)} maps through a dead or unknown extent`);
        continue;
      }
      if (!hv.memdb.ownsAll(ext, e.value.pa, e.value.pa + len)) {
        bad.push(`VM ${as.vmid}: IPA ${hex(e.start)}+${hex(len)} maps PA ${hex(e.value.pa)} not owned by its extent #${ext.id}`);
        continue;
      }
      const isInfo = as.infoArea?.me === ext && as.infoArea.ipa === e.start - (e.value.pa - ext.physBase);
      if (isInfo) continue;
      // The mapping must come from a record of that extent for this address space at this IPA.
      const recs = recordsIn(ext.slots, e.value.pa, e.value.pa + len).filter((x) => x.as === as);
      let covered = 0;
      for (const { piece } of recs) {
        if (piece.value.vbase - piece.start === e.start - e.value.pa) covered += piece.end - piece.start;
      }
      if (covered < len) bad.push(`VM ${as.vmid}: IPA ${hex(e.start)}+${hex(len)} is mapped without a record of extent #${ext.id}`);
    }
  }
  for (const o of hv.objects) {
    if (!(o instanceof Memextent) || o.state !== ObjectState.ACTIVE) continue;
    for (const r of hv.memdb.owned(o, o.physBase, o.end)) {
      for (const { as, piece } of recordsIn(o.slots, r.start, r.end)) {
        if (!live(as)) {
          bad.push(`extent #${o.id} has a mapping slot for a dead address space`);
          continue;
        }
        for (let pa = piece.start; pa < piece.end; ) {
          const ipa = piece.value.vbase + (pa - piece.start);
          const i = as.s2.indexOf(ipa);
          if (i < 0 || as.s2.valueAt(i).pa + (ipa - as.s2.startAt(i)) !== pa || as.s2.valueAt(i).ext !== o) {
            bad.push(`extent #${o.id}: PA ${hex(pa)} should be mapped at IPA ${hex(ipa)} of VM ${as.vmid}`);
            break;
          }
          pa += as.s2.endAt(i) - ipa;
        }
      }
    }
  }

  // 3. Caps name live objects and agree with their objects' cap lists.
  for (const o of hv.objects) {
    if (o instanceof CSpace) {
      for (const s of o.slots()) {
        if (s.state === CapState.REVOKED) {
          if (s.object !== null) bad.push(`revoked cap in cspace #${o.id} still names an object`);
          continue;
        }
        if (!s.object || !live(s.object)) bad.push(`cap in cspace #${o.id} names a deleted object`);
        else if (!s.object.caps.includes(s)) bad.push(`cap in cspace #${o.id} is missing from object #${s.object.id}'s cap list`);
        else if (s.type !== s.object.type) bad.push(`cap in cspace #${o.id} has the wrong type`);
      }
    }
    for (const s of o.caps) {
      if (s.object !== o || s.state !== CapState.VALID) bad.push(`object #${o.id} lists a cap that does not name it`);
      if (!live(s.cspace)) bad.push(`object #${o.id} has a cap in a destroyed cspace`);
    }
    if (o.alive && o.caps.length === 0 && o.refs <= 0) bad.push(`object #${o.id} (${ObjectType[o.type]}) is unreachable but alive`);
  }

  // 4. Scheduling state is consistent.
  for (const p of hv.sched.pcpus) {
    const seen = new Set<Vcpu>();
    for (const v of p.queued()) {
      if (seen.has(v)) bad.push(`vCPU queued twice on CPU ${p.index}`);
      seen.add(v);
      if (v.vstate !== VState.READY) bad.push(`CPU ${p.index} queues a vCPU that is not READY`);
      if (v.proxy) bad.push(`CPU ${p.index} queues a proxy-scheduled vCPU`);
    }
    if (p.current && !live(p.current)) bad.push(`CPU ${p.index} runs a destroyed vCPU`);
    if (p.target && p.target.runner !== p.current) bad.push(`CPU ${p.index}: vcpu_run target and runner disagree`);
  }
  for (const o of hv.objects) {
    if (!(o instanceof Vcpu)) continue;
    if (o.executing && o.vstate !== VState.RUNNING) bad.push(`vCPU #${o.id} executes without running`);
    if (o.vstate === VState.RUNNING && !(o.pcpu && (o.pcpu.current === o || o.pcpu.target === o))) bad.push(`vCPU #${o.id} is RUNNING but on no CPU`);
  }
  return bad;
}

/** Whether [start, end) is covered by memdb ranges without gaps. */
function coveredOnce(hv: Hypervisor, start: number, end: number): boolean {
  let at = start;
  for (const e of hv.memdb.entries()) {
    if (e.end <= start || e.start >= end) continue;
    if (e.start > at) return false;
    at = Math.max(at, e.end);
  }
  return at >= end;
}
