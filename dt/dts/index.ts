// The DTS compiler's public face: dtc's source language in, a DeviceTree out.
export { compileDts, type CompileDtsOptions, type CompiledDts } from './compile-dts';
export { DtsError, formatDiagnostic, type DtsDiagnostic, type DtsSeverity, type SourcePosition } from './dts-error';
export type { ReadFile } from './source-files';
export type { PhandleFormat } from './live-tree';
