// What the RM knows about itself and the platform at boot: its caps, its memory, the memory it
// hands out, the interrupt controller layout and the primary VM's boot parameters (the boot env
// of spec §23 step 2, decoded by firmware/hypervisor's boot-env decoder).

export interface RmEnv {
  /** Caps in the RM's cspace. */
  partition: bigint;
  cspace: bigint;
  addrspace: bigint;
  vic: bigint;
  vcpu: bigint;
  /** The RM's own RAM: extent, IPA base and size (identity-mapped RWX). */
  ramMe: bigint;
  ramBase: bigint;
  ramSize: bigint;
  /** The root sparse extent over the RAM the RM carves VMs from, and its physical range. */
  rootMe: bigint;
  rootBase: bigint;
  rootSize: bigint;
  /** Device memory (MMIO) extent handed to the RM, if any. */
  deviceMe: bigint | undefined;
  deviceBase: bigint;
  deviceSize: bigint;
  /** vGIC frame layout (the platform's GICD base, GICR base and stride). */
  gicdBase: bigint;
  gicrBase: bigint;
  gicrStride: bigint;
  /** Physical CPUs: the boot core and the usable ones (bit mask). */
  bootCore: number;
  usableCores: bigint;
  /** The primary VM: its RAM (identity mapped), DT and entry point. */
  hlosBase: bigint;
  hlosSize: bigint;
  hlosDtBase: bigint;
  hlosEntry: bigint;
  /** Hardware IRQ caps: [platform IRQ number, cap]; they belong to the primary VM. */
  hwirqs: [number, bigint][];
  /** The hypervisor supports vcpu_run (api_flags0 bit 11): proxy-scheduled vCPUs are possible. */
  vcpuRun: boolean;
  /** Highest IPA + 1 a VM can use. */
  ipaLimit: bigint;
}
