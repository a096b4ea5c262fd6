// Wiring of the tty layer.
import { ContainerModule } from 'inversify';
import { TtyCore, TtyCoreImpl } from './tty-core';

export const ttyModule = new ContainerModule(({ bind }) => {
  bind(TtyCoreImpl).toSelf().inSingletonScope();
  bind(TtyCore).toService(TtyCoreImpl);
});
