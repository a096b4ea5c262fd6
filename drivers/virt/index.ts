// drivers/virt: the Gunyah RM driver (RPC client, typed RM calls, registry).
export * from './gunyah/rm-abi';
export * from './gunyah/rm-payload';
export * from './gunyah/rm-rpc';
export * from './gunyah/rm-calls-vm';
export * from './gunyah/rm-calls-mem';
export * from './gunyah/rsc-mgr';
export * from './gunyah/rsc-mgr.module';
export * from './gunyah/vm_mgr/uapi';
export { GhVmManager, GhVmManagerToken } from './gunyah/vm_mgr/vm-mgr';
export { GhVm, GhVmListener, GH_RM_VM_STATUS, GH_VM_RESET_TIMEOUT_NS, type GhVmEvent, type GhVmExitInfo } from './gunyah/vm_mgr/vm';
export { GhVmFunction, type GhVmFunctionInstance } from './gunyah/vm_mgr/vm-function';
export { GH_RESOURCE_TYPE, type GhResource, type GhResourceTicket } from './gunyah/vm_mgr/vm-resource';
export { GH_VM_MAX_IO_HANDLERS, type GhVmIoHandler } from './gunyah/vm_mgr/io-handlers';
export { GH_VM_MAX_MEM_REGIONS } from './gunyah/vm_mgr/vm-mem';
export { GhVcpu, GhVcpuFunction } from './gunyah/gunyah-vcpu';
export { GhIrqfdFunction, GH_BELL_NONBLOCK } from './gunyah/gunyah-irqfd';
export { GhIoeventfdFunction } from './gunyah/gunyah-ioeventfd';
export { vmMgrModule } from './gunyah/vm_mgr/vm-mgr.module';
