// drivers/tty: the Gunyah console ttys.
export * from './gunyah-console';
export * from './gunyah-console.module';
