// Wiring of the Gunyah console as an RM client.
import { ContainerModule } from 'inversify';
import { GunyahRmClient } from '../virt/index';
import { GhConsoleClient } from './gunyah-console';

export const GhConsoleToken = Symbol('GhConsole');

export const gunyahConsoleModule = new ContainerModule(({ bind }) => {
  bind(GhConsoleClient).toSelf().inSingletonScope();
  bind(GhConsoleToken).toService(GhConsoleClient);
  bind(GunyahRmClient).toService(GhConsoleClient);
});
