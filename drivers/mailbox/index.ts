// drivers/mailbox: the Gunyah message-queue mailbox controller.
export * from './gunyah-msgq';
