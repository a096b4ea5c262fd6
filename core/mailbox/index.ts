// core/mailbox: the mailbox framework.
export * from './mailbox-types';
export * from './mbox-chan';
export * from './mailbox';
export * from './mailbox.module';
