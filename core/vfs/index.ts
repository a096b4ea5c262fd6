// core/vfs: files, character and misc devices, anon inodes, eventfd, ioctl encoding, struct layouts.
export * from './ioctl';
export * from './struct-layout';
export * from './wait-queue';
export * from './file';
export * from './file-table';
export * from './eventfd';
export * from './misc';
export * from './process';
export * from './vfs';
export * from './kmsg';
export * from './vfs.module';
