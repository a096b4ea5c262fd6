// Guest-side helpers over GuestCpu: issue a Gunyah hypercall with register arguments and read the
// results, and bring up the vGIC the way a GICv3 driver does. They use GuestCpu only (no back
// door), so guest code such as the RM may use them.
import type { GuestCpu } from '../guest-cpu';
import { HVC_IMM_BASE } from '../abi/hypercalls';

/** x0..x7 after a call: x0 is the error code (signed), the rest raw 64-bit values. */
export interface HvcResult {
  readonly error: number;
  readonly x: readonly bigint[];
}

/** `hvc #0x6000+n` with arguments in x0..: returns the error and x0..x7. */
export async function hypercall(cpu: GuestCpu, n: number, ...args: (bigint | number)[]): Promise<HvcResult> {
  if (args.length > 8) throw new RangeError('at most 8 hypercall arguments');
  const x = cpu.x;
  for (let i = 0; i < 8; i++) x[i] = i < args.length ? BigInt.asUintN(64, BigInt(args[i]!)) : 0n;
  await cpu.hvc(HVC_IMM_BASE + n);
  return { error: Number(BigInt.asIntN(64, x[0]!)), x: [x[0]!, x[1]!, x[2]!, x[3]!, x[4]!, x[5]!, x[6]!, x[7]!] };
}

/** An SMCCC call through `hvc #0` (PSCI, SMCCC arch and vendor calls): returns x0..x3. */
export async function smccc(cpu: GuestCpu, fid: number, ...args: (bigint | number)[]): Promise<bigint[]> {
  const x = cpu.x;
  x[0] = BigInt(fid >>> 0);
  for (let i = 1; i < 8; i++) x[i] = i - 1 < args.length ? BigInt.asUintN(64, BigInt(args[i - 1]!)) : 0n;
  await cpu.hvc(0);
  return [x[0]!, x[1]!, x[2]!, x[3]!];
}

export interface GicFrames {
  gicdBase: bigint;
  gicrBase: bigint;
  /** Bytes between redistributors (0x20000 on GICv3). */
  gicrStride: bigint;
}

/**
 * Initialise the distributor and this vCPU's redistributor as Linux's GICv3 driver does: wake the
 * redistributor, enable group 1 with affinity routing. Interrupts still need enabling one by one.
 */
export async function gicInit(cpu: GuestCpu, f: GicFrames): Promise<void> {
  const rd = f.gicrBase + f.gicrStride * BigInt(cpu.index);
  await cpu.mmioWrite(rd + 0x14n, 4, 0n); // GICR_WAKER: clear ProcessorSleep
  await cpu.mmioWrite(f.gicdBase, 4, 0x13n); // GICD_CTLR: ARE | EnableGrp1 | EnableGrp0
}

/** Enable INTID `intid` (edge or level) at priority 0xa0, routed to this vCPU for an SPI. */
export async function gicEnable(cpu: GuestCpu, f: GicFrames, intid: number, edge: boolean): Promise<void> {
  if (intid < 32) {
    const sgi = f.gicrBase + f.gicrStride * BigInt(cpu.index) + 0x10000n;
    if (intid >= 16) {
      const cfgOff = sgi + 0xc04n;
      const bit = 2n << BigInt(2 * (intid - 16));
      const cur = await cpu.mmioRead(cfgOff, 4);
      await cpu.mmioWrite(cfgOff, 4, edge ? cur | bit : cur & ~bit);
    }
    await cpu.mmioWrite(sgi + 0x400n + BigInt(intid), 1, 0xa0n);
    await cpu.mmioWrite(sgi + 0x100n, 4, 1n << BigInt(intid));
    return;
  }
  const d = f.gicdBase;
  const cfgOff = d + 0xc00n + BigInt(Math.floor(intid / 16) * 4);
  const bit = 2n << BigInt(2 * (intid % 16));
  const cur = await cpu.mmioRead(cfgOff, 4);
  await cpu.mmioWrite(cfgOff, 4, edge ? cur | bit : cur & ~bit);
  await cpu.mmioWrite(d + 0x400n + BigInt(intid), 1, 0xa0n);
  await cpu.mmioWrite(d + 0x6000n + BigInt(intid) * 8n, 8, cpu.mpidr);
  await cpu.mmioWrite(d + 0x100n + BigInt(Math.floor(intid / 32) * 4), 4, 1n << BigInt(intid % 32));
}
