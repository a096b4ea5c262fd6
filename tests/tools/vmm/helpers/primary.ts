// Boot the whole stack (machine, hypervisor, RM, the primary VM's kernel with /dev/gunyah) and run a
// test program as a process of the primary VM. A failure inside the program crashes the critical
// primary vCPU, which fails the machine run: it surfaces here as the rejection.
import type { Kernel, Process } from '../../../../core';
import type { GhVmManager } from '../../../../drivers/virt';
import type { GuestCpu } from '../../../../firmware/hypervisor';
import { bootPlatform, type Platform } from '../../../../firmware/platform';
import type { RmExtensions } from '../../../../firmware/rm';
import { defaultBoard, type DefaultBoardOptions } from '../../../../tools/vmm/default-board';
import { bootPrimaryKernel, PRIMARY_IMAGE_SIZE, vmManager } from '../../../../tools/vmm/primary-kernel';
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
  let done = false;
  let result!: T;
  let env!: PrimaryEnv;
  const platform = bootPlatform(defaultBoard(opts), {
    hypervisor: { capIds: 'random' },
    rmExtensions: opts.rmExtensions ?? {},
    primaryEntry: async (cpu: GuestCpu) => {
      const k = await bootPrimaryKernel(cpu, { kernelImage: { base: platform.primary.entry, size: PRIMARY_IMAGE_SIZE } });
      env = { k, proc: k.spawn('vmm'), platform, mgr: vmManager(k) };
      result = await program(env);
      done = true;
    },
  });
  await platform.machine.runUntil(() => done || (opts.limitNs !== undefined && platform.machine.now > opts.limitNs));
  if (!done) throw new Error(`the primary program did not finish (virtual time ${platform.machine.now} ns)${env ? `\n${env.k.dmesg()}` : ''}`);
  return { result, platform, env };
}
