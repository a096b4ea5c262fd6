// Branded 64-bit wire types: a cap ID, an intermediate physical address and a physical address
// are all bigints, and the brands keep them from being mixed up.

export type CapId = bigint & { readonly __brand: 'CapId' };
export type Ipa = bigint & { readonly __brand: 'Ipa' };
export type PhysAddr = bigint & { readonly __brand: 'PhysAddr' };

const U64_MAX = 0xffff_ffff_ffff_ffffn;

function u64(v: bigint | number, what: string): bigint {
  const b = typeof v === 'number' ? BigInt(v) : v;
  if (b < 0n || b > U64_MAX) throw new RangeError(`${what} 0x${b.toString(16)} does not fit 64 bits`);
  return b;
}

export const capId = (v: bigint | number): CapId => u64(v, 'cap ID') as CapId;
export const ipa = (v: bigint | number): Ipa => u64(v, 'IPA') as Ipa;
export const physAddr = (v: bigint | number): PhysAddr => u64(v, 'physical address') as PhysAddr;

/** CSPACE_CAP_INVALID: all ones. */
export const CAP_INVALID = U64_MAX as CapId;
