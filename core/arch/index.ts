// core/arch: the vCPU interface, the SMCCC conduit, hypercall wrappers, hypervisor errors and PSCI.
export * from './cpu';
export * from './smccc';
export * from './hyp-error';
export * from './hypercall-abi';
export * from './hyp-calls-object';
export * from './hyp-calls-ipc';
export * from './hyp-calls-vcpu';
export * from './hyp-calls-mem';
export * from './hyp-calls-virtio';
export * from './hypercalls';
export * from './psci';
