// core/of: device-tree queries for the kernel.
export * from './of-base';
export * from './of-irq';
