// firmware/platform: boot a board description (machine, hypervisor, RM, primary VM).
export { bootPlatform, type BootOptions, type Platform } from './boot';
export { parseBoard, BoardError, DEFAULT_RM_MEMORY, type Board, type BoardCpu } from './board';
export { buildPrimaryDtb, type PrimaryDtbOptions } from './primary-dtb';
export { addArchTimerNode, addGicV3Node, addPsciNode, type GicV3Layout } from './mach-virt';
