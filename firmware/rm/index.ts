// firmware/rm: the Resource Manager, a VM of its own that reaches the hypervisor through hypercalls
// only. Its public face: the program entry, the wire facts (message IDs, error codes, header and
// limits, payload layouts) and the pieces tests and tools inspect.
export { rmMain, rmEntry, rmEnvFrom, type RmMainOptions } from './rm-main';
export { ResourceManager, type RmExtensions, type RmStats } from './resource-manager';
export type { RmEnv } from './rm-env';
export type { RmPlatform } from './hyp/rm-platform';
export { Hypercalls, HypCallError, type VcpuRunCheck } from './hyp/hypercalls';
export { cpuHvcPort, type HvcPort } from './hyp/hvc-port';
export * from './abi/rm-error';
export * from './abi/message-ids';
export * from './abi/rpc-header';
export * from './abi/vm-state';
export * from './abi/notifications';
export * from './abi/hyp-resource';
export { fragmentMessage, fragmentsFor } from './rpc/fragmenter';
export { Reassembler, type RpcMessage, type RpcDrop } from './rpc/reassembler';
export { PayloadReader, RM_MAX_LIST_ENTRIES } from './wire/payload-reader';
export { PayloadWriter } from './wire/payload-writer';
export { RpcServer, replyPayload, RmErrorWithData, type RmRequest, type RmHandler } from './server/rpc-server';
export { RpcLink, MAX_PENDING_NOTIFICATIONS, type LinkTransport, type SendResult } from './server/rpc-link';
export { MsgqTransport } from './server/msgq-transport';
export { parseVmConfig, VmConfigError, DEFAULT_MSG_SIZE, DEFAULT_QUEUE_DEPTH } from './config/vm-config-parser';
export type { VmConfig, VdeviceConfig } from './config/vm-config';
export { buildVmOverlay, mergeRanges, interruptCells, guidToString, type OverlayInput } from './config/overlay-builder';
export { buildHlosOverlay, HLOS_RM_COMPATIBLE, HLOS_HYPERVISOR_COMPATIBLE } from './config/hlos-overlay';
export * from './mem/memparcel';
export { CONSOLE_CHUNK } from './console/console-service';
export { HOST_TYPE, MAX_CRASH_MSG, VmIdType } from './vm/vm-mgmt';
export { VirqAllocator, GUEST_FREE_IRQ_START } from './vm/virq-allocator';
export type { Vm } from './vm/vm';
