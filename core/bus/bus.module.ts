// Wiring of the platform bus.
import { ContainerModule } from 'inversify';
import { PlatformBus, PlatformBusImpl } from './platform-bus';

export const busModule = new ContainerModule(({ bind }) => {
  bind(PlatformBusImpl).toSelf().inSingletonScope();
  bind(PlatformBus).toService(PlatformBusImpl);
});
