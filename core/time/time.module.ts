// Wiring of the arch timer driver (the Clock itself is created at boot, before the container).
import { ContainerModule } from 'inversify';
import { Driver } from '../bus/driver';
import { ArchTimerDriver } from './arch-timer';

export const timeModule = new ContainerModule(({ bind }) => {
  bind(ArchTimerDriver).toSelf().inSingletonScope();
  bind(Driver).toService(ArchTimerDriver);
});
