// core/: the guest kernel's public face.
export * from './errno';
export * from './arch/index';
export * from './printk/index';
export * from './of/index';
export * from './time/index';
export * from './mm/index';
export * from './irq/index';
export * from './bus/index';
export * from './kernel/index';
export * from './mailbox/index';
export * from './vfs/index';
export * from './tty/index';
