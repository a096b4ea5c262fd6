// core/printk: the kernel log.
export * from './printk';
