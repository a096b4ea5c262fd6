// ioctl command numbers as Linux encodes them (include/uapi/asm-generic/ioctl.h, which arm64 uses):
// bits 7:0 number, 15:8 type, 29:16 argument size, 31:30 direction.

export const IOC_NRBITS = 8;
export const IOC_TYPEBITS = 8;
export const IOC_SIZEBITS = 14;
export const IOC_DIRBITS = 2;
export const IOC_NRSHIFT = 0;
export const IOC_TYPESHIFT = IOC_NRSHIFT + IOC_NRBITS;
export const IOC_SIZESHIFT = IOC_TYPESHIFT + IOC_TYPEBITS;
export const IOC_DIRSHIFT = IOC_SIZESHIFT + IOC_SIZEBITS;

export const IOC_NONE = 0;
export const IOC_WRITE = 1;
export const IOC_READ = 2;

const typeCode = (t: string | number): number => {
  const v = typeof t === 'string' ? t.charCodeAt(0) : t;
  if (typeof t === 'string' && t.length !== 1) throw new RangeError(`ioctl type ${JSON.stringify(t)} must be one character`);
  if (!Number.isInteger(v) || v < 0 || v >= 1 << IOC_TYPEBITS) throw new RangeError(`ioctl type ${t} out of range`);
  return v;
};

/** _IOC(dir, type, nr, size). */
export function _IOC(dir: number, type: string | number, nr: number, size: number): number {
  if (!Number.isInteger(nr) || nr < 0 || nr >= 1 << IOC_NRBITS) throw new RangeError(`ioctl nr ${nr} out of range`);
  if (!Number.isInteger(size) || size < 0 || size >= 1 << IOC_SIZEBITS) throw new RangeError(`ioctl size ${size} out of range`);
  if (dir < 0 || dir > 3) throw new RangeError(`ioctl dir ${dir} out of range`);
  return ((dir << IOC_DIRSHIFT) | (typeCode(type) << IOC_TYPESHIFT) | (nr << IOC_NRSHIFT) | (size << IOC_SIZESHIFT)) >>> 0;
}

/** A size: a byte count or anything with a `size` (a struct layout). */
type Sized = number | { readonly size: number };
const sizeOf = (s: Sized): number => (typeof s === 'number' ? s : s.size);

export const _IO = (type: string | number, nr: number): number => _IOC(IOC_NONE, type, nr, 0);
export const _IOR = (type: string | number, nr: number, size: Sized): number => _IOC(IOC_READ, type, nr, sizeOf(size));
export const _IOW = (type: string | number, nr: number, size: Sized): number => _IOC(IOC_WRITE, type, nr, sizeOf(size));
export const _IOWR = (type: string | number, nr: number, size: Sized): number => _IOC(IOC_READ | IOC_WRITE, type, nr, sizeOf(size));

export const _IOC_DIR = (cmd: number): number => (cmd >>> IOC_DIRSHIFT) & ((1 << IOC_DIRBITS) - 1);
export const _IOC_TYPE = (cmd: number): number => (cmd >>> IOC_TYPESHIFT) & ((1 << IOC_TYPEBITS) - 1);
export const _IOC_NR = (cmd: number): number => (cmd >>> IOC_NRSHIFT) & ((1 << IOC_NRBITS) - 1);
export const _IOC_SIZE = (cmd: number): number => (cmd >>> IOC_SIZESHIFT) & ((1 << IOC_SIZEBITS) - 1);

/** Generic ioctls the VFS handles itself (do_vfs_ioctl; asm-generic/ioctls.h). */
export const FIONCLEX = 0x5450;
export const FIOCLEX = 0x5451;
export const FIONBIO = 0x5421;
export const FIONREAD = 0x541b;
