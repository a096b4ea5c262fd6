// drivers/virt: the Gunyah RM driver (RPC client, typed RM calls, registry).
export * from './gunyah/rm-abi';
export * from './gunyah/rm-payload';
export * from './gunyah/rm-rpc';
export * from './gunyah/rm-calls-vm';
export * from './gunyah/rm-calls-mem';
export * from './gunyah/rsc-mgr';
export * from './gunyah/rsc-mgr.module';
