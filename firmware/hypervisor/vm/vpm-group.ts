// VPM (PSCI) groups: the vCPUs of a VM that PSCI manages together (CPU_ON by MPIDR, the last-CPU
// rule of CPU_OFF, system suspend state) (spec §10.2; hyp/vm/vpm_base, hyp/vm/psci).
import { GhError } from '../abi/errors';
import { ObjectType } from '../abi/objects';
import { VpmState } from '../abi/vcpu';
import type { Hypervisor } from '../hypervisor';
import { SimpleVirqSource } from '../irq/virq-source';
import { PLATFORM_MAX_CORES } from '../irq/irq-state';
import { KObject } from '../objects/kobject';
import type { Partition } from '../objects/partition';
import { VState, type Vcpu } from './vcpu';

export class VpmGroup extends KObject {
  readonly type = ObjectType.VPM_GROUP;
  options = 0n;
  readonly members: (Vcpu | undefined)[] = new Array<Vcpu | undefined>(PLATFORM_MAX_CORES).fill(undefined);
  readonly suspendSource = new SimpleVirqSource('vpm-group');

  constructor(hv: Hypervisor, partition: Partition) {
    super(hv, partition);
  }

  configure(flags: bigint): number {
    this.options = flags;
    return GhError.OK;
  }

  attach(vcpu: Vcpu, index: number): number {
    if (index >= PLATFORM_MAX_CORES) return GhError.ARGUMENT_INVALID;
    vcpu.vpm?.put();
    this.get();
    vcpu.vpm = this;
    vcpu.vpmIndex = index;
    return GhError.OK;
  }

  activateMember(vcpu: Vcpu): number {
    if (this.members[vcpu.vpmIndex]) return GhError.BUSY;
    this.members[vcpu.vpmIndex] = vcpu;
    return GhError.OK;
  }

  deactivateMember(vcpu: Vcpu): void {
    if (this.members[vcpu.vpmIndex] === vcpu) this.members[vcpu.vpmIndex] = undefined;
  }

  /** vCPUs of the group that are powered on (not off, not halted). */
  onlineCount(): number {
    let n = 0;
    for (const m of this.members) if (m && m.threadState === 'ready' && m.vstate !== VState.OFF && m.vstate !== VState.FAULT) n++;
    return n;
  }

  /** The member whose MPIDR (affinity fields) is `mpidr`. */
  memberByMpidr(mpidr: bigint): Vcpu | undefined {
    return this.members.find((m) => m !== undefined && m.mpidr === mpidr);
  }

  vpmState(): number {
    for (const m of this.members) {
      if (m && m.vstate !== VState.OFF && !(m.vstate === VState.BLOCKED && m.blockReason === 'suspend')) return VpmState.RUNNING;
    }
    return VpmState.CPUS_SUSPENDED;
  }

  protected override onDeactivate(): void {
    this.suspendSource.vic?.unbind(this.suspendSource);
  }
}
