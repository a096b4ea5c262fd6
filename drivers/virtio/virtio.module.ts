// Wiring of the virtio drivers: the virtio-mmio platform driver and the virtio device-type drivers it
// hands devices to.
import { ContainerModule } from 'inversify';
import { Driver } from '../../core/index';
import { VirtioDriver } from './virtio';
import { VirtioMmioDriver } from './virtio-mmio';
import { VirtioConsoleDriver } from './virtio-console';

export const virtioModule = new ContainerModule(({ bind }) => {
  bind(VirtioConsoleDriver).toSelf().inSingletonScope();
  bind(VirtioDriver).toService(VirtioConsoleDriver);
  bind(VirtioMmioDriver).toSelf().inSingletonScope();
  bind(Driver).toService(VirtioMmioDriver);
});
