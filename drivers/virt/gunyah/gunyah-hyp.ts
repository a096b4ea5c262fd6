// The `gunyah-hypervisor` platform driver (drivers/virt/gunyah/gunyah.c from v15 on): binds the
// /hypervisor node and creates platform devices for its children. The final binding drops
// "simple-bus" from /hypervisor, so without this driver the RM-RPC node would never become a device.
import { inject, injectable, type Container } from 'inversify';
import { KernelContainer, PlatformBus, type Driver, type PlatformDevice, type ProbeResult } from '../../../core/index';

@injectable()
export class GunyahHypervisorDriver implements Driver {
  readonly name = 'gunyah';
  readonly ofMatchTable = [{ compatible: 'gunyah-hypervisor' }];

  // The bus is looked up at probe time: the bus itself is built from the list of drivers.
  constructor(@inject(KernelContainer) private readonly kernel: Container) {}

  async probe(dev: PlatformDevice): Promise<ProbeResult> {
    // The bus probes the new devices after this probe returns (it retries after every bind).
    this.kernel.get<PlatformBus>(PlatformBus).populate(dev.node, dev);
  }
}
