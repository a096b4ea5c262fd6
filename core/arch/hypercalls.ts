// The typed hypercall interface of one vCPU: every hypercall of spec/hypervisor-and-rm.md §3, grouped by
// object family, all over one SMCCC conduit.
import type { Cpu } from './cpu';
import { SmcccConduit } from './smccc';
import { HypercallInvoker } from './hypercall-abi';
import { HypObjectCalls } from './hyp-calls-object';
import { HypIpcCalls } from './hyp-calls-ipc';
import { HypVcpuCalls } from './hyp-calls-vcpu';
import { HypMemCalls } from './hyp-calls-mem';
import { HypVirtioCalls } from './hyp-calls-virtio';

/** Token for the boot vCPU's hypercall interface in a kernel's container. */
export const Hypercalls = Symbol('Hypercalls');
export type Hypercalls = HypercallsImpl;

export class HypercallsImpl {
  readonly invoker: HypercallInvoker;
  readonly object: HypObjectCalls;
  readonly ipc: HypIpcCalls;
  readonly vcpu: HypVcpuCalls;
  readonly mem: HypMemCalls;
  readonly virtio: HypVirtioCalls;

  constructor(readonly conduit: SmcccConduit) {
    this.invoker = new HypercallInvoker(conduit);
    this.object = new HypObjectCalls(this.invoker);
    this.ipc = new HypIpcCalls(this.invoker);
    this.vcpu = new HypVcpuCalls(this.invoker);
    this.mem = new HypMemCalls(this.invoker);
    this.virtio = new HypVirtioCalls(this.invoker);
  }

  get cpu(): Cpu {
    return this.conduit.cpu;
  }
}
