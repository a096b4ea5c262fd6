// Run one VM through the VMM inside the primary VM: create, start, collect its console, wait for its
// exit (or stop it), close it and wait until the kernel has torn it down.
import { filter, firstValueFrom, toArray } from 'rxjs';
import type { Kernel } from '../../../../core';
import type { GhVmManager } from '../../../../drivers/virt';
import { builtinImage } from '../../../../tools/image/builtin-images';
import { vmDescription, type VmDescription } from '../../../../tools/vmm/vm-description';
import { Vmm, type VmExit } from '../../../../tools/vmm/vmm';

export const desc = (o: Partial<VmDescription> = {}): VmDescription => vmDescription({ name: 'vm', image: 'builtin:hello-lite', memorySize: 0x200_0000n, ...o });

export interface VmRun {
  vmid: number;
  exit: VmExit;
  text: string;
  /** The exit type the RM reported (VM_EXITED), seen by the kernel. */
  rmExit: string | undefined;
  vmm: Vmm;
}

/** `stopAfterNs`: stop the VM (as its owner) after that much virtual time instead of waiting for it to exit. */
export async function runVm(k: Kernel, mgr: GhVmManager, d: VmDescription, opts: { stopAfterNs?: number; input?: string } = {}): Promise<VmRun> {
  const image = await builtinImage(d.image.replace(/^builtin:/, ''));
  const vmm = await Vmm.create(k.spawn(`vmm-${d.name}`), d, image);
  const vmid = vmm.vmid;
  const events = firstValueFrom(mgr.events$.pipe(filter((e) => e.vmid === vmid && (e.kind === 'exited' || e.kind === 'freed')), toArray()));
  void events;
  let rmExit: string | undefined;
  const exitSub = mgr.events$.pipe(filter((e) => e.vmid === vmid && e.kind === 'exited')).subscribe((e) => (rmExit = e.detail));
  const freed = firstValueFrom(mgr.events$.pipe(filter((e) => e.vmid === vmid && e.kind === 'freed')));
  const out = firstValueFrom(vmm.console$.pipe(toArray()));
  await vmm.start();
  if (opts.input !== undefined) await vmm.writeConsole(new TextEncoder().encode(opts.input));
  let exit: VmExit;
  if (opts.stopAfterNs !== undefined) {
    const t = k.clock;
    const timer = new Promise<'timeout'>((r) => t.after(opts.stopAfterNs!, () => r('timeout')));
    const first = await Promise.race([vmm.exited, timer]);
    exit = first === 'timeout' ? await vmm.stop() : first;
  } else exit = await vmm.exited;
  await vmm.close();
  await freed;
  exitSub.unsubscribe();
  const chunks = await out;
  const text = new TextDecoder().decode(Uint8Array.from(chunks.flatMap((c) => [...c])));
  return { vmid, exit, text, rmExit, vmm };
}
