// The RM's record of one VM (RM's vm_t): identity, lifecycle state, owner and peers, what its
// config asked for, and the hypervisor objects the RM created for it.
import { OsState, VmState, type VmStateCode } from '../abi/vm-state';
import type { VmConfig } from '../config/vm-config';
import { RangeList } from '../mem/range-list';
import { VirqAllocator } from './virq-allocator';

/** How an IPA range of a VM is used (RM's vm_memuse and its address-range tags). */
export type IpaUse =
  /** RAM the VM owns through its own extent, at physical `pa`. */
  | { kind: 'own'; pa: bigint }
  /** Owned RAM lent or donated into memparcel `handle` (no longer the VM's to lend again). */
  | { kind: 'lent'; pa: bigint; handle: number }
  /** Owned RAM shared through memparcel `handle` (still mapped for the owner). */
  | { kind: 'shared'; pa: bigint; handle: number }
  /** A memparcel the VM accepted. */
  | { kind: 'accepted'; pa: bigint; handle: number }
  /** vGIC frames and other emulated devices. */
  | { kind: 'vdevice' }
  /** An IPA range the VM asked the RM to keep (IPA_RESERVE). */
  | { kind: 'reserved' };

export interface VcpuRecord {
  index: number;
  /** The RM's (master) cap. */
  cap: bigint;
  /** The owner's copy (Affinity | YieldTo), for vcpu_run. */
  ownerCap: bigint | undefined;
  /** The VM's own copy (Power), for CPUs powered on by hypercall. */
  vmCap: bigint | undefined;
  /** Physical CPU, or -1 for proxy scheduling. */
  affinity: number;
  /** Halt VIRQ in the RM's VIC. */
  haltVirq: number;
  /** Run-wakeup VIRQ in the owner's VIC (proxy-scheduled vCPUs). */
  wakeupVirq: number | undefined;
  cpuPath: string | undefined;
  boot: boolean;
  hvcEnabled: boolean;
}

/** One side's view of a vdevice: caps in that VM's cspace and VIRQs in its VIC. */
export interface VdevEnd {
  vmid: number;
  txCap?: bigint;
  rxCap?: bigint;
  cap?: bigint;
  txVirq?: number;
  rxVirq?: number;
  virq?: number;
}

export type VdevKind = 'rm-rpc' | 'message-queue-pair' | 'message-queue' | 'doorbell';

export interface VdevRecord {
  kind: VdevKind;
  /** qcom,vdevice-handle: unique per VM. */
  handle: number;
  label: number;
  generate: string;
  pushCompatible: string[];
  /** The VM's end and the peer's end. */
  self: VdevEnd;
  peer: VdevEnd;
  peerId: string | undefined;
  /** Doorbell: the VM is the source; message queue: the VM sends. */
  source: boolean;
  msgSize: number;
  depth: number;
  /** Master caps of the objects (in the RM's cspace), deleted at teardown. */
  objects: bigint[];
  /** Caps copied into other VMs' cspaces and VIRQs bound in their VICs, undone at teardown. */
  foreignCaps: { cspace: bigint; cap: bigint }[];
  foreignVirqs: { vmid: number; virq: number }[];
}

export interface VmObjects {
  cspace: bigint;
  addrspace: bigint | undefined;
  vic: bigint | undefined;
  vpm: bigint | undefined;
  /** The VM's own sparse RAM extent (child of the root extent). */
  ramMe: bigint;
  vcpus: VcpuRecord[];
  vdevs: VdevRecord[];
  /** VIRQ numbers used in the VM's VIC. */
  virqs: VirqAllocator;
  gic: { gicdBase: bigint; gicrBase: bigint; gicrStride: bigint } | undefined;
  nextVdevHandle: number;
}

export interface VmImage {
  auth: number;
  handle: number;
  imageOffset: bigint;
  imageSize: bigint;
  dtOffset: bigint;
  dtSize: bigint;
  /** Size of the image memparcel. */
  memSize: bigint;
  /** Where the image parcel is mapped in the VM (vm-config memory base-address). */
  ipaBase: bigint;
}

export class Vm {
  state: VmStateCode = VmState.LOAD;
  osState: number = OsState.NONE;
  appStatus = 0;
  readonly peers = new Set<Vm>();
  name = '';
  uri = '';
  guid: Uint8Array | undefined;
  crashMsg: Uint8Array | undefined;
  noShutdown = false;
  noReset = false;
  crashFatal = false;
  sensitive = false;
  /** Scheduler priority of this VM's vCPUs (the HLOS runs at 32). */
  priority = 32;
  image: VmImage | undefined;
  firmware: { handle: number; offset: bigint; size: bigint } | undefined;
  /** Boot registers set with VM_SET_BOOT_CONTEXT (a gunyah-ts extension, boot-context.ts). */
  bootContext: Map<number, bigint> | undefined;
  config: VmConfig | undefined;
  objects: VmObjects | undefined;
  /** Memparcels this VM owns (limit 64). */
  mpCount = 0;
  /** The VM's IPA space as the RM arranged it. */
  readonly ipa = new RangeList<IpaUse>();
  /** A reset in progress runs its stages in order; undefined when none. */
  resetStage: number | undefined;

  constructor(
    readonly vmid: number,
    readonly owner: number,
  ) {}

  get guards(): { noShutdown: boolean; noReset: boolean; crashFatal: boolean } {
    return { noShutdown: this.noShutdown, noReset: this.noReset, crashFatal: this.crashFatal };
  }
}
