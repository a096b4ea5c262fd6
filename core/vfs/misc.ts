// Misc character devices (drivers/char/misc.c): major 10, a minor each (fixed or dynamic), a node in /dev.
import type { FileOperations } from './file';

export const MISC_MAJOR = 10;
export const MISC_DYNAMIC_MINOR = 255;
/** Dynamic minors are handed out from 127 downwards (DYNAMIC_MINORS = 128). */
export const DYNAMIC_MINORS = 128;

/** struct miscdevice. `minor` MISC_DYNAMIC_MINOR (the default) gets one assigned. */
export interface MiscDevice {
  readonly name: string;
  minor?: number;
  readonly fops: FileOperations;
  /** Node name under /dev when it differs from `name`. */
  readonly nodename?: string;
  /** Driver data reachable from open files (file->private_data starts as the miscdevice). */
  readonly priv?: unknown;
}
