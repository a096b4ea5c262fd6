// The VM's CPUs as the kernel knows them: one PerCpu per vCPU (its Cpu, SMCCC conduit and hypercall
// interface), which are online, and CPU hotplug callbacks (cpuhp) run on each CPU as it comes online.
import type { Cpu } from '../arch/cpu';
import { SmcccConduit } from '../arch/smccc';
import { HypercallsImpl } from '../arch/hypercalls';

export class PerCpu {
  readonly conduit: SmcccConduit;
  readonly hyp: HypercallsImpl;
  online = false;

  constructor(readonly cpu: Cpu) {
    this.conduit = new SmcccConduit(cpu, 'hvc');
    this.hyp = new HypercallsImpl(this.conduit);
  }

  get index(): number {
    return this.cpu.index;
  }
}

/** A cpuhp state: `startup` runs on every online CPU and on each CPU that comes online later. */
export interface CpuhpState {
  readonly name: string;
  startup(pc: PerCpu): Promise<void> | void;
  teardown?(pc: PerCpu): Promise<void> | void;
}

export const Cpus = Symbol('Cpus');
export type Cpus = CpusImpl;

export class CpusImpl {
  private readonly byIndex = new Map<number, PerCpu>();
  private readonly states: CpuhpState[] = [];
  readonly boot: PerCpu;

  constructor(bootCpu: Cpu) {
    this.boot = new PerCpu(bootCpu);
    this.boot.online = true;
    this.byIndex.set(bootCpu.index, this.boot);
  }

  get(index: number): PerCpu | undefined {
    return this.byIndex.get(index);
  }

  /** The PerCpu of `cpu`, created on first sight (a secondary entering the kernel). */
  attach(cpu: Cpu): PerCpu {
    let pc = this.byIndex.get(cpu.index);
    if (!pc) {
      pc = new PerCpu(cpu);
      this.byIndex.set(cpu.index, pc);
    }
    return pc;
  }

  online(): PerCpu[] {
    return [...this.byIndex.values()].filter((p) => p.online).sort((a, b) => a.index - b.index);
  }

  /** Register a cpuhp state and run its startup on every CPU already online (cpuhp_setup_state). */
  async setup(state: CpuhpState): Promise<() => Promise<void>> {
    this.states.push(state);
    for (const pc of this.online()) await state.startup(pc);
    return async () => {
      const i = this.states.indexOf(state);
      if (i >= 0) this.states.splice(i, 1);
      if (state.teardown) for (const pc of this.online().reverse()) await state.teardown(pc);
    };
  }

  /** Bring `pc` online: run every registered startup on it, in registration order. */
  async bringOnline(pc: PerCpu): Promise<void> {
    for (const s of this.states) await s.startup(pc);
    pc.online = true;
  }
}
