// Wiring of the VM manager (/dev/gunyah, an RM-link client) and its functions: vcpu, irqfd, ioeventfd.
import { ContainerModule } from 'inversify';
import { GhIoeventfdFunction } from '../gunyah-ioeventfd';
import { GhIrqfdFunction } from '../gunyah-irqfd';
import { GhVcpuFunction } from '../gunyah-vcpu';
import { GunyahRmClient } from '../rsc-mgr';
import { GhVmFunction } from './vm-function';
import { GhVmManager, GhVmManagerToken } from './vm-mgr';

export const vmMgrModule = new ContainerModule(({ bind }) => {
  bind(GhVmManager).toSelf().inSingletonScope();
  bind(GhVmManagerToken).toService(GhVmManager);
  bind(GunyahRmClient).toService(GhVmManager);
  bind(GhVcpuFunction).toSelf().inSingletonScope();
  bind(GhVmFunction).toService(GhVcpuFunction);
  bind(GhIrqfdFunction).toSelf().inSingletonScope();
  bind(GhVmFunction).toService(GhIrqfdFunction);
  bind(GhIoeventfdFunction).toSelf().inSingletonScope();
  bind(GhVmFunction).toService(GhIoeventfdFunction);
});
