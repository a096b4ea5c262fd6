// core/kernel: the kernel object, boot, CPUs and SMP.
export * from './tokens';
export * from './cpus';
export * from './kernel-error';
export * from './smp';
export * from './kernel';
export * from './dtb-read';
