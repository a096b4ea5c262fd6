// Wiring of the mailbox framework.
import { ContainerModule } from 'inversify';
import { Mailbox, MailboxImpl } from './mailbox';

export const mailboxModule = new ContainerModule(({ bind }) => {
  bind(MailboxImpl).toSelf().inSingletonScope();
  bind(Mailbox).toService(MailboxImpl);
});
