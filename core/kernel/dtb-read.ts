// Reading the boot DTB out of the VM's own memory (what arm64's setup_machine_fdt does with x0): the
// header first, its magic and totalsize checked against MAX_FDT_SIZE, then the whole blob, then
// unflattening with dt/'s parseFdt. Every failure is a typed DtbBootError naming the address.
import { DtbError, FDT_MAGIC, FDT_V16_HEADER_SIZE, HDR, parseFdt, type DeviceTree } from '../../dt/index';
import type { Cpu } from '../arch/cpu';

/** arm64's MAX_FDT_SIZE (SZ_2M): a DTB larger than this is refused. */
export const MAX_FDT_SIZE = 2 * 1024 * 1024;

export class DtbBootError extends Error {
  constructor(
    readonly address: bigint,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`DTB at 0x${address.toString(16)}: ${message}`, options);
    this.name = 'DtbBootError';
  }
}

export interface BootDtb {
  tree: DeviceTree;
  totalsize: number;
}

export function readBootDtb(cpu: Cpu, address: bigint): BootDtb {
  if (address % 8n !== 0n) throw new DtbBootError(address, 'not 8-byte aligned (the arm64 boot protocol requires it)');
  const hdr = new Uint8Array(FDT_V16_HEADER_SIZE);
  try {
    cpu.read(address, hdr);
  } catch (e) {
    throw new DtbBootError(address, `header not readable: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  const dv = new DataView(hdr.buffer);
  const magic = dv.getUint32(HDR.magic);
  if (magic !== FDT_MAGIC) throw new DtbBootError(address, `bad magic 0x${magic.toString(16).padStart(8, '0')} (expected 0x${FDT_MAGIC.toString(16)})`);
  const totalsize = dv.getUint32(HDR.totalsize);
  if (totalsize < FDT_V16_HEADER_SIZE) throw new DtbBootError(address, `totalsize ${totalsize} is smaller than the header`);
  if (totalsize > MAX_FDT_SIZE) throw new DtbBootError(address, `totalsize ${totalsize} exceeds MAX_FDT_SIZE (${MAX_FDT_SIZE})`);
  const blob = new Uint8Array(totalsize);
  try {
    cpu.read(address, blob);
  } catch (e) {
    throw new DtbBootError(address, `blob of ${totalsize} bytes not readable: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  try {
    return { tree: parseFdt(blob, { limits: { maxTotalSize: MAX_FDT_SIZE } }), totalsize };
  } catch (e) {
    if (e instanceof DtbError) throw new DtbBootError(address, e.message, { cause: e });
    throw e;
  }
}
