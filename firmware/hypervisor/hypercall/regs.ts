// Register access for hypercall handlers: x0..x7 as 32-bit halves (little-endian host), so the
// common paths never build a bigint, yet every 64-bit value is read and written exactly.

/** Registers as 32-bit words: x[i] is r[2i] (low) and r[2i+1] (high). */
export type Regs = Uint32Array;

/** Values at or above 2^53 are out of every range the machine has; this keeps their low bits. */
export const HUGE = 2 ** 53;

/** x[i] as a number when below 2^53, else HUGE + its low 16 bits (alignment checks still see them). */
export function num(r: Regs, i: number): number {
  const hi = r[2 * i + 1]!;
  const lo = r[2 * i]!;
  return hi < 0x20_0000 ? hi * 0x1_0000_0000 + lo : HUGE + (lo & 0xffff);
}

/** The low 32 bits of x[i] (32-bit typed arguments: count_t, index_t, cap_rights_t, bitfield<32>). */
export function u32(r: Regs, i: number): number {
  return r[2 * i]!;
}

export function big(r: Regs, i: number): bigint {
  return (BigInt(r[2 * i + 1]!) << 32n) | BigInt(r[2 * i]!);
}

export function isZero(r: Regs, i: number): boolean {
  return r[2 * i] === 0 && r[2 * i + 1] === 0;
}

export function isOnes(r: Regs, i: number): boolean {
  return r[2 * i] === 0xffff_ffff && r[2 * i + 1] === 0xffff_ffff;
}

/** Write a non-negative integer below 2^53. */
export function setNum(r: Regs, i: number, v: number): void {
  r[2 * i] = v >>> 0;
  r[2 * i + 1] = Math.floor(v / 0x1_0000_0000);
}

export function setWords(r: Regs, i: number, lo: number, hi: number): void {
  r[2 * i] = lo;
  r[2 * i + 1] = hi;
}

export function setBig(r: Regs, i: number, v: bigint): void {
  const u = BigInt.asUintN(64, v);
  r[2 * i] = Number(u & 0xffff_ffffn);
  r[2 * i + 1] = Number(u >> 32n);
}

/** Write a signed 32-bit value sign-extended to 64 bits (error codes, PSCI results). */
export function setSigned(r: Regs, i: number, v: number): void {
  r[2 * i] = v >>> 0;
  r[2 * i + 1] = v < 0 ? 0xffff_ffff : 0;
}
