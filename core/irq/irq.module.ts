// Wiring of the IRQ core and the GICv3 driver.
import { ContainerModule } from 'inversify';
import { Driver } from '../bus/driver';
import { IrqCore, IrqCoreImpl } from './irq-core';
import { GicV3Driver } from './gic-v3';

export const irqModule = new ContainerModule(({ bind }) => {
  bind(IrqCoreImpl).toSelf().inSingletonScope();
  bind(IrqCore).toService(IrqCoreImpl);
  bind(GicV3Driver).toSelf().inSingletonScope();
  bind(Driver).toService(GicV3Driver);
});
