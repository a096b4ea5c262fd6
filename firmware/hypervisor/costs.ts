// Virtual-time costs charged to a vCPU for trapping into the hypervisor (ARCHITECTURE.md,
// "Execution model" item 4). Guest code between traps takes no virtual time. The values are in
// the range measured for Gunyah and KVM on Cortex-A class cores (a hypercall round trip is a few
// hundred ns, an exit to a userspace VMM a few µs); they exist so time moves, not to predict.

/** HVC/SMC trap: exception entry, dispatch and return. */
export const HVC_NS = 300;
/** A stage-2 data abort emulated in the hypervisor (vGIC or an in-hypervisor device handler). */
export const MMIO_TRAP_NS = 400;
/** A VMMIO access that leaves to the VMM through vcpu_run. */
export const VMMIO_EXIT_NS = 1_000;
/** Entering vcpu_run's target (the directed yield) or returning from it. */
export const VCPU_RUN_SWITCH_NS = 600;
/** WFI trap. */
export const WFI_NS = 200;
/** Taking an IRQ exception to the guest's vector. */
export const IRQ_ENTRY_NS = 150;
/**
 * Interrupts one IRQ entry may acknowledge before the vCPU is stopped as stuck in its vector (an
 * emulator bound, far above what a handler that clears its sources needs).
 */
export const MAX_ACKS_PER_IRQ_ENTRY = 10_000;
/** Switching a physical CPU from one vCPU to another. */
export const CONTEXT_SWITCH_NS = 1_500;
/** Copying message data in msgqueue send/receive, per byte. */
export const MSGQ_COPY_NS_PER_BYTE = 0.25;
