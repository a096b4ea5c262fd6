// dt/: the device-tree library's public face.
export * from './errors';
export * from './value';
export * from './tree';
export * from './dts';
