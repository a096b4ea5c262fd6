// Wiring of the RM driver and the RM registry.
import { ContainerModule } from 'inversify';
import { Driver } from '../../../core/index';
import { GhRsrcMgrDriver, GunyahRm, GunyahRmRegistry } from './rsc-mgr';
import { GunyahHypervisorDriver } from './gunyah-hyp';

export const rscMgrModule = new ContainerModule(({ bind }) => {
  bind(GunyahRmRegistry).toSelf().inSingletonScope();
  bind(GunyahRm).toService(GunyahRmRegistry);
  bind(GhRsrcMgrDriver).toSelf().inSingletonScope();
  bind(Driver).toService(GhRsrcMgrDriver);
  bind(GunyahHypervisorDriver).toSelf().inSingletonScope();
  bind(Driver).toService(GunyahHypervisorDriver);
});
