// Boot the whole stack (machine, hypervisor, RM, the primary VM's kernel with /dev/gunyah) and run a
// test program as a process of the primary VM. A failure inside the program crashes the critical
// primary vCPU, which fails the machine run: it surfaces here as the rejection.
import type { Kernel, Process } from '../../../../core';
import type { GhVmManager } from '../../../../drivers/virt';
import type { Platform } from '../../../../firmware/platform';
import type { RmExtensions } from '../../../../firmware/rm';
import { defaultBoard, type DefaultBoardOptions } from '../../../../tools/vmm/default-board';
import { runOnPrimary, vmManager } from '../../../../tools/vmm/primary-kernel';
import { builtinImage, builtinImageNames } from '../../../../tools/image/builtin-images';

export interface PrimaryEnv {
  k: Kernel;
  proc: Process;
  platform: Platform;
  mgr: GhVmManager;
}

export async function withPrimary<T>(program: (env: PrimaryEnv) => Promise<T>, opts: DefaultBoardOptions & { limitNs?: number; rmExtensions?: RmExtensions } = {}): Promise<{ result: T; platform: Platform; env: PrimaryEnv }> {
  // Every bundled guest is built (or read from the image cache) on the host first: virtual time does not
  // wait for host work, so a build started inside the simulation on a cold cache would let the machine
  // idle out before the image arrived.
  await Promise.all(builtinImageNames().map((g) => builtinImage(g)));
  let env!: PrimaryEnv;
  const { result, platform } = await runOnPrimary(
    defaultBoard(opts),
    (k, _cpu, platform) => {
      env = { k, proc: k.spawn('vmm'), platform, mgr: vmManager(k) };
      return program(env);
    },
    { platform: { hypervisor: { capIds: 'random' }, rmExtensions: opts.rmExtensions ?? {} }, ...(opts.limitNs !== undefined ? { limitNs: opts.limitNs } : {}) },
  );
  return { result, platform, env };
}
