// Header and block layout of a flattened blob, checked against the blob before anything trusts it.
import { DtbError } from './errors';
import {
  FDT_FIRST_SUPPORTED_VERSION,
  FDT_LAST_SUPPORTED_VERSION,
  FDT_MAGIC,
  FDT_RESERVE_ENTRY_SIZE,
  FDT_V16_HEADER_SIZE,
  FDT_V17_HEADER_SIZE,
  HDR,
  type FdtHeader,
} from './fdt-format';
import type { FdtLimits } from './fdt-limits';

/** Where each block is, in absolute byte offsets; every range has been checked to lie in the blob. */
export interface FdtLayout {
  header: FdtHeader;
  headerSize: number;
  /** Memory reservation map: `rsvCount` entries, then the terminating entry. */
  rsvStart: number;
  rsvCount: number;
  structStart: number;
  /** End of the structure block: off_dt_struct + size_dt_struct (v17), or the next block/totalsize (v16). */
  structEnd: number;
  stringsStart: number;
  stringsEnd: number;
  /**
   * Largest strings-block-relative offset whose string is NUL-terminated inside the block (-1 when
   * none is): a name offset is valid iff it is <= this, so no per-property scan is needed.
   */
  lastNameOffset: number;
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** Read and check the header, the block bounds and the memory reservation map. */
export function readLayout(bytes: Uint8Array, limits: FdtLimits): FdtLayout {
  const len = bytes.length;
  if (len < 8) throw new DtbError(`blob truncated: ${len} bytes is shorter than the magic and totalsize fields`, len);
  const dv = view(bytes);
  const magic = dv.getUint32(HDR.magic);
  if (magic !== FDT_MAGIC) throw new DtbError(`bad magic ${hex(magic)} (expected 0xd00dfeed)`, HDR.magic);
  const totalsize = dv.getUint32(HDR.totalsize);
  if (totalsize > limits.maxTotalSize) {
    throw new DtbError(`totalsize ${totalsize} is over the limit of ${limits.maxTotalSize} bytes`, HDR.totalsize);
  }
  if (len < FDT_V16_HEADER_SIZE) {
    throw new DtbError(`blob truncated: ${len} bytes is shorter than a version 16 header`, len);
  }
  const version = dv.getUint32(HDR.version);
  const lastComp = dv.getUint32(HDR.last_comp_version);
  if (version < FDT_FIRST_SUPPORTED_VERSION) {
    throw new DtbError(`unsupported version ${version} (versions 16 and 17 are read)`, HDR.version);
  }
  if (lastComp > FDT_LAST_SUPPORTED_VERSION) {
    throw new DtbError(`last_comp_version ${lastComp} is newer than 17: this blob cannot be read`, HDR.last_comp_version);
  }
  if (lastComp > version) {
    throw new DtbError(`last_comp_version ${lastComp} is above version ${version}`, HDR.last_comp_version);
  }
  const headerSize = version >= 17 ? FDT_V17_HEADER_SIZE : FDT_V16_HEADER_SIZE;
  if (len < headerSize) throw new DtbError(`blob truncated: ${len} bytes is shorter than a version ${version} header`, len);
  if (totalsize < headerSize) {
    throw new DtbError(`totalsize ${totalsize} is smaller than the ${headerSize}-byte header`, HDR.totalsize);
  }
  if (totalsize > len) {
    throw new DtbError(`blob truncated: totalsize is ${totalsize} but only ${len} bytes are present`, len);
  }

  const header: FdtHeader = {
    magic,
    totalsize,
    off_dt_struct: dv.getUint32(HDR.off_dt_struct),
    off_dt_strings: dv.getUint32(HDR.off_dt_strings),
    off_mem_rsvmap: dv.getUint32(HDR.off_mem_rsvmap),
    version,
    last_comp_version: lastComp,
    boot_cpuid_phys: dv.getUint32(HDR.boot_cpuid_phys),
    size_dt_strings: dv.getUint32(HDR.size_dt_strings),
    size_dt_struct: version >= 17 ? dv.getUint32(HDR.size_dt_struct) : 0,
  };

  // Block offsets: inside the blob, past the header, aligned as the spec requires.
  const checkOffset = (name: string, field: number, off: number, align: number) => {
    if (off < headerSize) throw new DtbError(`${name} ${hex(off)} overlaps the header`, field);
    if (off > totalsize) throw new DtbError(`${name} ${hex(off)} is past totalsize ${hex(totalsize)}`, field);
    if (off % align !== 0) throw new DtbError(`${name} ${hex(off)} is misaligned (must be a multiple of ${align})`, field);
  };
  checkOffset('off_mem_rsvmap', HDR.off_mem_rsvmap, header.off_mem_rsvmap, 8);
  checkOffset('off_dt_struct', HDR.off_dt_struct, header.off_dt_struct, 4);
  checkOffset('off_dt_strings', HDR.off_dt_strings, header.off_dt_strings, 1);

  const stringsStart = header.off_dt_strings;
  const stringsEnd = stringsStart + header.size_dt_strings;
  if (stringsEnd > totalsize) {
    throw new DtbError(
      `strings block (${hex(stringsStart)} + ${header.size_dt_strings}) runs past totalsize ${hex(totalsize)}`,
      HDR.size_dt_strings,
    );
  }

  const structStart = header.off_dt_struct;
  let structEnd: number;
  if (version >= 17) {
    structEnd = structStart + header.size_dt_struct;
    if (structEnd > totalsize) {
      throw new DtbError(
        `structure block (${hex(structStart)} + ${header.size_dt_struct}) runs past totalsize ${hex(totalsize)}`,
        HDR.size_dt_struct,
      );
    }
    if (header.size_dt_struct % 4 !== 0) {
      throw new DtbError(`size_dt_struct ${header.size_dt_struct} is not a multiple of 4`, HDR.size_dt_struct);
    }
  } else {
    // Version 16 does not record the structure block's size: it ends where the next block starts.
    structEnd = totalsize;
    for (const start of [header.off_mem_rsvmap, stringsStart]) if (start > structStart && start < structEnd) structEnd = start;
  }

  // Memory reservation map: count entries up to the terminator (size 0), without allocating.
  const rsvStart = header.off_mem_rsvmap;
  let rsvCount = 0;
  for (let off = rsvStart; ; off += FDT_RESERVE_ENTRY_SIZE) {
    if (off + FDT_RESERVE_ENTRY_SIZE > totalsize) {
      throw new DtbError('memory reservation map runs past totalsize (no terminating entry)', off);
    }
    if (dv.getUint32(off + 8) === 0 && dv.getUint32(off + 12) === 0) break;
    rsvCount++;
  }
  const rsvEnd = rsvStart + (rsvCount + 1) * FDT_RESERVE_ENTRY_SIZE;

  // No two blocks may share a byte.
  const blocks: Array<[string, number, number, number]> = [
    ['memory reservation map', rsvStart, rsvEnd, HDR.off_mem_rsvmap],
    ['structure block', structStart, structEnd, HDR.off_dt_struct],
    ['strings block', stringsStart, stringsEnd, HDR.off_dt_strings],
  ];
  for (let i = 0; i < blocks.length; i++) {
    for (let j = i + 1; j < blocks.length; j++) {
      const [an, as, ae] = blocks[i]!;
      const [bn, bs, be, bfield] = blocks[j]!;
      if (as < ae && bs < be && as < be && bs < ae) {
        throw new DtbError(`${an} [${hex(as)}, ${hex(ae)}) overlaps the ${bn} [${hex(bs)}, ${hex(be)})`, bfield);
      }
    }
  }

  // Names are valid at offsets up to the last NUL in the strings block.
  let lastNameOffset = -1;
  for (let i = stringsEnd - 1; i >= stringsStart; i--) {
    if (bytes[i] === 0) {
      lastNameOffset = i - stringsStart;
      break;
    }
  }

  return { header, headerSize, rsvStart, rsvCount, structStart, structEnd, stringsStart, stringsEnd, lastNameOffset };
}
