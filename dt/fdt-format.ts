// Flattened device tree wire constants (Devicetree Specification v0.4, ch. 5; libfdt's fdt.h).

export const FDT_MAGIC = 0xd00dfeed;

/** Structure block tokens, 32-bit big-endian, 4-byte aligned. */
export const FDT_BEGIN_NODE = 0x1;
export const FDT_END_NODE = 0x2;
export const FDT_PROP = 0x3;
export const FDT_NOP = 0x4;
export const FDT_END = 0x9;

/** Header sizes: version 16 has 9 fields (36 bytes), 17 adds size_dt_struct (40 bytes). */
export const FDT_V16_HEADER_SIZE = 36;
export const FDT_V17_HEADER_SIZE = 40;

/** The versions this library reads (a blob must be readable by a version 16/17 reader). */
export const FDT_FIRST_SUPPORTED_VERSION = 16;
export const FDT_LAST_SUPPORTED_VERSION = 17;

/** The version toFdt writes, and the last_comp_version dtc writes with it. */
export const FDT_OUTPUT_VERSION = 17;
export const FDT_OUTPUT_LAST_COMP_VERSION = 16;

/** A memory reservation entry: two big-endian u64s (address, size); the map ends at an entry of size 0. */
export const FDT_RESERVE_ENTRY_SIZE = 16;

/** Byte offsets of the header fields. */
export const HDR = {
  magic: 0,
  totalsize: 4,
  off_dt_struct: 8,
  off_dt_strings: 12,
  off_mem_rsvmap: 16,
  version: 20,
  last_comp_version: 24,
  boot_cpuid_phys: 28,
  size_dt_strings: 32,
  size_dt_struct: 36,
} as const;

/** The ten header fields, as numbers (a version 16 header has no size_dt_struct: it reads as 0). */
export interface FdtHeader {
  magic: number;
  totalsize: number;
  off_dt_struct: number;
  off_dt_strings: number;
  off_mem_rsvmap: number;
  version: number;
  last_comp_version: number;
  boot_cpuid_phys: number;
  size_dt_strings: number;
  size_dt_struct: number;
}
