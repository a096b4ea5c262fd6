// Wiring of the VFS (with /dev/kmsg registered once the VFS exists).
import { ContainerModule } from 'inversify';
import { Printk, type PrintkImpl } from '../printk/printk';
import { Vfs, VfsImpl } from './vfs';
import { kmsgFops } from './kmsg';

export const vfsModule = new ContainerModule(({ bind }) => {
  bind(VfsImpl)
    .toSelf()
    .inSingletonScope()
    .onActivation((ctx, vfs) => {
      vfs.registerChrdev('/dev/kmsg', kmsgFops(ctx.get<PrintkImpl>(Printk)), undefined, { major: 1, minor: 11 });
      return vfs;
    });
  bind(Vfs).toService(VfsImpl);
});
