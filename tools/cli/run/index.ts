// tools/cli/run: `gunyah run` (boot a board, stream its consoles) and the pieces it is made of.
export { runCommand, STATUS_INTERRUPTED, type RunCliOptions } from './run-command';
export { loadBoard, type LoadedBoard, type BoardVm } from './board-file';
export { RunSession, type SessionHooks, type SessionResult, type VmOutcome } from './session';
export { ChromeTraceWriter } from './chrome-trace';
export { ConsoleMux } from './console-mux';
export { ConsoleAttach, DETACH_BYTE } from './attach';
export { HypercallCounter, statsTable } from './stats';
export { DEFAULT_BOARD_DTS } from './default-board';
