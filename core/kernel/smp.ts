// Secondary CPU bring-up (arch/arm64 smp.c shapes): each available /cpus/cpu node other than the boot CPU
// with enable-method "psci" is started with PSCI CPU_ON at the secondary entry; the kernel waits for it
// to report online on virtual time.
import { ofDeviceIsAvailable, type DeviceTree, type DtNode } from '../../dt/index';
import { mpidrAffinity } from '../arch/cpu';
import { PsciError, type Psci } from '../arch/psci';
import { Errno } from '../errno';
import type { PrintkImpl } from '../printk/printk';
import type { ClockImpl } from '../time/clock';

/** A CPU node's MPIDR from `reg` (1 or 2 cells, per /cpus #address-cells). */
export function cpuNodeMpidr(cpusNode: DtNode, cpu: DtNode): bigint | undefined {
  const ac = cpusNode.u32('#address-cells') ?? 1;
  const cells = cpu.u32s('reg');
  if (!cells || cells.length < ac) return undefined;
  return cells.slice(0, ac).reduce((v, c) => (v << 32n) | BigInt(c), 0n);
}

export interface SmpContext {
  tree: DeviceTree;
  printk: PrintkImpl;
  clock: ClockImpl;
  psci: Psci | undefined;
  bootMpidr: bigint;
  secondaryEntry: bigint | undefined;
  contextId: bigint;
  timeoutNs: number;
  /** Resolves when the CPU with this affinity reports online. */
  waitOnline(affinity: bigint): Promise<void>;
  cancelWait(affinity: bigint): void;
}

/** Start every secondary CPU; returns how many came online (the boot CPU not counted). */
export async function bringUpSecondaries(ctx: SmpContext): Promise<number> {
  const cpusNode = ctx.tree.findNode('/cpus');
  if (!cpusNode) return 0;
  let up = 0;
  const bootAff = mpidrAffinity(ctx.bootMpidr);
  for (const n of cpusNode.children) {
    if (n.string('device_type') !== 'cpu' || !ofDeviceIsAvailable(n)) continue;
    const mpidr = cpuNodeMpidr(cpusNode, n);
    if (mpidr === undefined) {
      ctx.printk.err(`${n.path}: missing or short reg; CPU ignored`);
      continue;
    }
    const aff = mpidrAffinity(mpidr);
    if (aff === bootAff) continue;
    const label = `CPU 0x${mpidr.toString(16)}`;
    const method = n.string('enable-method');
    if (method !== 'psci') {
      ctx.printk.err(`${label}: enable-method ${method === undefined ? '(none)' : JSON.stringify(method)} is not supported`);
      continue;
    }
    if (!ctx.psci) {
      ctx.printk.err(`${label}: enable-method psci but no PSCI firmware`);
      continue;
    }
    if (ctx.secondaryEntry === undefined) {
      ctx.printk.notice(`${label}: no secondary entry point given; not started`);
      continue;
    }
    if (!ctx.clock.eventDevice) {
      ctx.printk.err(`${label}: no clock-event device to time the bring-up; not started`);
      continue;
    }
    const online = ctx.waitOnline(aff);
    try {
      await ctx.psci.cpuOn(mpidr, ctx.secondaryEntry, ctx.contextId);
    } catch (e) {
      ctx.cancelWait(aff);
      ctx.printk.err(`${label}: failed to boot: ${e instanceof PsciError ? e.message : String(e)}`);
      continue;
    }
    try {
      await ctx.clock.withTimeout(online, ctx.timeoutNs);
      up++;
      ctx.printk.info(`CPU${up}: Booted secondary processor 0x${mpidr.toString(16).padStart(10, '0')}`);
    } catch (e) {
      ctx.cancelWait(aff);
      ctx.printk.err(`${label}: failed to come online${Errno.is(e, 'ETIMEDOUT') ? '' : `: ${String(e)}`}`);
    }
  }
  return up;
}
