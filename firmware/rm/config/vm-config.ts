// The parsed `vm-config` of a VM (spec §20): what the RM creates for it and how. Produced by
// parseVmConfig from the VM's DTB; consumed by VM creation and the overlay builder.

export type VcpuAffinity = 'static' | 'sticky' | 'pinned' | 'proxy';
export type EnableMethod = 'psci' | 'qcom,gunyah-hvc';

export interface CpuConfig {
  /** Path of the cpu node (patched with `qcom,gunyah-capability`). */
  path: string;
  /** Whether the CPU runs at boot (status okay, or the first CPU without a status). */
  boot: boolean;
  enableMethod: EnableMethod | undefined;
  hasIdleStates: boolean;
}

export interface VcpusConfig {
  affinity: VcpuAffinity;
  /** Timeslice in µs (`sched-timeslice`), undefined for the default. */
  timesliceUs: number | undefined;
  /** Signed offset to the owner's priority (`sched-priority`), 0 by default. */
  priorityOffset: number;
  /** One physical CPU index per vCPU (required unless proxy). */
  affinityMap: number[];
  cpus: CpuConfig[];
}

export interface MemoryConfig {
  /** Guest IPA of the VM's memory (`base-address`). */
  base: bigint | undefined;
  sizeMin: bigint | undefined;
  sizeMax: bigint | undefined;
  isDirect: boolean;
  firmwareAddress: bigint | undefined;
}

/** Interrupt cells a vdevice asked for (`interrupts`), as <type irq flags> triples. */
export interface IrqSpec {
  /** INTID (SPI 32.., ESPI 4096..). */
  virq: number;
  edge: boolean;
}

interface VdeviceCommon {
  /** Node path the overlay emits (`generate`), e.g. "/hypervisor/qcom,resource-mgr". */
  generate: string;
  pushCompatible: string[];
  label: number;
  /** Path of the vm-config node that described it (for errors). */
  configPath: string;
}

/** "peer-default" (the VM's owner) or a peer id ("vm-name:…", "vm-uri:…", "vm-guid:…"). */
export type PeerRef = { kind: 'default' } | { kind: 'id'; id: string };

export type VdeviceConfig =
  | (VdeviceCommon & { type: 'rm-rpc'; consoleDev: boolean; msgSize: number; depth: number })
  | (VdeviceCommon & { type: 'doorbell'; source: boolean; peer: PeerRef; sourceCanClear: boolean; irq: IrqSpec | undefined })
  | (VdeviceCommon & { type: 'message-queue'; sender: boolean; peer: PeerRef; msgSize: number; depth: number; irq: IrqSpec | undefined })
  | (VdeviceCommon & { type: 'message-queue-pair'; peer: PeerRef; msgSize: number; depth: number; irqs: [IrqSpec, IrqSpec] | undefined })
  | (VdeviceCommon & { type: 'shm'; doorbells: boolean; peer: PeerRef; optional: boolean; dmaBase: bigint | undefined; memBase: bigint | undefined });

/** Where the VM's GICv3 is (read from its DT) and whether the overlay must fill in its reg. */
export interface GicConfig {
  path: string;
  phandle: number | undefined;
  gicdBase: bigint | undefined;
  gicrBase: bigint | undefined;
  gicrStride: bigint | undefined;
  addrCells: number;
  sizeCells: number;
}

export interface VmConfig {
  vmType: string;
  osType: string;
  attrs: Set<string>;
  kernelEntryOffset: bigint | undefined;
  vendor: string | undefined;
  imageName: string | undefined;
  uri: string | undefined;
  guid: Uint8Array | undefined;
  sensitive: boolean;
  memory: MemoryConfig;
  vcpus: VcpusConfig;
  vdevices: VdeviceConfig[];
  gic: GicConfig | undefined;
  /** A VPM (PSCI) group is needed: some CPU uses enable-method psci or has idle states. */
  psci: boolean;
  rootAddressCells: number;
  rootSizeCells: number;
}
