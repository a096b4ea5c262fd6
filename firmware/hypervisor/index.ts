// firmware/hypervisor: the emulated machine and Gunyah hypervisor's public face.
export * from './guest-cpu';
