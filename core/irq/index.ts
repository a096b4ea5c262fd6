// core/irq: the generic IRQ layer and the GICv3 driver.
export * from './irq-types';
export * from './irq-domain';
export * from './irq-desc';
export * from './irq-core';
export * from './gic-v3';
export * from './gic-v3-regs';
export * from './irq.module';
