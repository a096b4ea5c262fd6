// dt/: the device-tree library's public face.
export * from './errors';
export * from './value';
export * from './tree';
export * from './fdt-format';
export * from './fdt-limits';
export { type FdtLayout } from './fdt-layout';
export * from './fdt-reader';
export * from './fdt-parse';
export * from './fdt-write';
export { StringsTable } from './strings-table';
export { compareNames } from './text';
export * from './dts-print';
export * from './overlay';
export { FdtEditor, FDT_ERR, fdtStrerror } from './fdt-edit';
export * from './of';
export * from './of-address';
export * from './of-irq';
export * from './dts';
