// The primary VM's kernel as this project composes it: the guest kernel with the RM driver, the
// Gunyah console ttys and the VM manager (/dev/gunyah), plus the glue that gives every VM whose RM
// console exists a /dev/ttyGH<vmid> held open by the kernel from VM_INIT on, so nothing the VM
// writes before its VMM opens the tty is dropped by the RM (which drops console output while the
// owner's side is closed).
import { ContainerModule, inject, injectable } from 'inversify';
import { bootKernel, Errno, O, secondaryEntry, Vfs, type BootOptions, type Cpu, type File, type IoContext, type Kernel, type VfsImpl } from '../../core';
import type { DeviceTree } from '../../dt';
import type { GuestCpu } from '../../firmware/hypervisor';
import { bootPlatform, type BootOptions as PlatformOptions, type Platform } from '../../firmware/platform';
import { GhConsoleToken, gunyahConsoleModule, type GhConsoleClient } from '../../drivers/tty';
import { GhVmListener, GhVmManagerToken, rscMgrModule, vmMgrModule, type GhRm, type GhVmManager } from '../../drivers/virt';

@injectable()
export class VmConsoleGlue implements GhVmListener {
  private readonly held = new Map<string, { file: File; rm: GhRm }>();

  constructor(
    @inject(GhConsoleToken) private readonly consoles: GhConsoleClient,
    @inject(Vfs) private readonly vfs: VfsImpl,
  ) {}

  private key(rm: GhRm, vmid: number): string {
    return `${rm.name}/${vmid}`;
  }

  async vmInitialized(rm: GhRm, vmid: number): Promise<void> {
    const c = this.consoles.console(rm);
    if (!c) return;
    const tty = c.addVm(vmid);
    const ctx: IoContext = {
      cpu: undefined as unknown as Cpu,
      pid: 0,
      signal: new AbortController().signal,
      copyFromUser: () => {
        throw new Errno('EFAULT', 'kernel open');
      },
      copyToUser: () => {
        throw new Errno('EFAULT', 'kernel open');
      },
      installFile: () => {
        throw new Errno('EINVAL', 'kernel open');
      },
    };
    try {
      // Opening the port opens the owner's side of the VM's RM console (CONSOLE_OPEN(vmid)).
      const file = await this.vfs.openPath(`/dev/${tty.name}`, O.RDWR | O.NOCTTY, ctx);
      this.held.set(this.key(rm, vmid), { file, rm });
    } catch {
      // No console for this VM (its config has no console-dev): no tty either.
      c.removeVm(vmid);
    }
  }

  async vmFreed(rm: GhRm, vmid: number): Promise<void> {
    const h = this.held.get(this.key(rm, vmid));
    this.held.delete(this.key(rm, vmid));
    await h?.file.put();
    this.consoles.console(rm)?.removeVm(vmid);
  }
}

export const vmConsoleGlueModule = new ContainerModule(({ bind }) => {
  bind(VmConsoleGlue).toSelf().inSingletonScope();
  bind(GhVmListener).toService(VmConsoleGlue);
});

/** The driver modules of the primary VM's kernel. */
export const PRIMARY_DRIVERS: readonly ContainerModule[] = [rscMgrModule, gunyahConsoleModule, vmMgrModule, vmConsoleGlueModule];

/**
 * Bytes kept out of the primary's page allocator at its entry point: the ROM table resolves the
 * platform's entry address to host-linked code first, so guest memory must never be carved there.
 */
export const PRIMARY_IMAGE_SIZE = 0x20_0000n;

/**
 * Boot the primary VM's kernel on `cpu` from the DTB at x0 (bootPlatform's primaryEntry calls this);
 * pass `kernelImage: { base: platform.primary.entry, size: PRIMARY_IMAGE_SIZE }`.
 */
export function bootPrimaryKernel(cpu: Cpu, opts: BootOptions = {}): Promise<Kernel> {
  return bootKernel(cpu, cpu.x[0]!, { name: 'primary', validator: false, drivers: PRIMARY_DRIVERS, ...opts });
}

/** The kernel's VM manager (the kernel-side view of /dev/gunyah). */
export function vmManager(k: Kernel): GhVmManager {
  return k.get<GhVmManager>(GhVmManagerToken);
}

/** Where the primary kernel's secondary CPUs enter (PSCI CPU_ON), past its boot entry. */
export const PRIMARY_SECONDARY_ENTRY_OFFSET = 0x1000n;

export interface RunOnPrimaryOptions {
  /** Platform options (hypervisor, RM extensions...); primaryEntry is this function's. */
  platform?: Omit<PlatformOptions, 'primaryEntry'>;
  /** Kernel boot options (drivers, validator...) for `bootKernel`. */
  boot?: BootOptions;
  /** How the kernel boots (default bootPrimaryKernel: the primary's drivers, no binding validation). */
  bootKernel?: (cpu: Cpu, opts: BootOptions) => Promise<Kernel>;
  /** Bring the primary's other CPUs up through PSCI (default: only the boot CPU runs the kernel). */
  smp?: boolean;
  /** Give up once virtual time passes this (ns). */
  limitNs?: number;
}

/**
 * Boot `board` (hypervisor, RM, the primary VM's kernel) and run `program` on the primary kernel as
 * guest code of its boot CPU; resolves with what it returned, rejects with what it threw, or with
 * the kernel log when it did not finish in time.
 */
export async function runOnPrimary<T>(board: DeviceTree, program: (k: Kernel, cpu: GuestCpu, platform: Platform) => Promise<T>, o: RunOnPrimaryOptions = {}): Promise<{ result: T; kernel: Kernel; platform: Platform }> {
  let out: { result: T; kernel: Kernel } | undefined;
  let kernel: Kernel | undefined;
  let failure: unknown;
  const platform: Platform = bootPlatform(board, {
    ...o.platform,
    primaryEntry: async (cpu: GuestCpu) => {
      try {
        kernel = await (o.bootKernel ?? bootPrimaryKernel)(cpu, {
          kernelImage: { base: platform.primary.entry, size: PRIMARY_IMAGE_SIZE },
          ...(o.smp ? { secondaryEntry: platform.primary.entry + PRIMARY_SECONDARY_ENTRY_OFFSET } : {}),
          ...o.boot,
        });
        out = { kernel, result: await program(kernel, cpu, platform) };
      } catch (e) {
        failure = e;
      }
    },
  });
  if (o.smp) platform.machine.registerEntry(platform.primary.entry + PRIMARY_SECONDARY_ENTRY_OFFSET, secondaryEntry);
  const limit = o.limitNs;
  await platform.machine.runUntil(() => out !== undefined || failure !== undefined || (limit !== undefined && platform.machine.now > limit));
  if (failure) throw failure;
  if (!out) throw new Error(`the primary program did not finish (virtual time ${platform.machine.now} ns)${kernel ? `\n${kernel.dmesg()}` : ''}`);
  return { ...out, platform };
}
