// One `gunyah run`: boot the board's platform (machine, hypervisor, RM, the primary VM's kernel with
// /dev/gunyah), then, as processes of the primary VM, one VMM per VM of /vms (spread over the
// primary's online CPUs), stream their consoles out, wait for every VM to exit or for a stop
// request, stop what still runs, and wait until the kernel has reclaimed every VM's memory.
// Host input (a stop request, console input) enters the simulation as machine posts only.
import type { Subscription } from 'rxjs';
import { secondaryEntry, type Kernel, type LogRecord } from '../../../core';
import type { GhVmEvent } from '../../../drivers/virt';
import type { GuestCpu, TraceEvent } from '../../../firmware/hypervisor';
import { bootPlatform, type Platform } from '../../../firmware/platform';
import { bootPrimaryKernel, PRIMARY_IMAGE_SIZE, PRIMARY_SECONDARY_ENTRY_OFFSET, vmManager } from '../../vmm/primary-kernel';
import { DTB_REGION, Vmm, type VmExit, type VmmOptions } from '../../vmm/vmm';
import { DevicePlacements, StubVms } from '../../devices';
import type { BoardVm, LoadedBoard } from './board-file';

/** Where the primary's secondary-CPU entry sits: a page into its kernel image (the ROM table maps it). */

export interface VmOutcome {
  name: string;
  vmid: number;
  /** How the VM ended: its status exit, stopped by us, or an error (create/start failures included). */
  exit: VmExit;
  /** vcpu_run returns (exits to the VMM) and MMIO exits among them. */
  runs: number;
  mmioExits: number;
  memory: bigint;
  /** The DT the VM booted with (after the RM's overlay), when asked for. */
  dtb?: Uint8Array;
}

export interface SessionResult {
  vms: VmOutcome[];
  /** True when the run ended on a stop request. */
  stopped: boolean;
  /** `Hypervisor.checkInvariants()` after teardown (empty when sound). */
  invariants: string[];
  /** Pages of the primary's page allocator not back after every VM was freed (0 when all reclaimed). */
  pagesNotReclaimed: number;
  /** Virtual time at the end, ns. */
  virtualNs: number;
}

export interface SessionHooks {
  /** Console bytes of a VM, as its VMM reads them. */
  console(vm: string, bytes: Uint8Array): void;
  /** A VM's console ended (the VM went away). */
  consoleEnd?(vm: string): void;
  /** The primary VM's kernel console (printk records). */
  primaryLog?(record: LogRecord): void;
  /** VM lifecycle as the primary's VM manager sees it, with the VM's name. */
  vmEvent?(vm: string, event: GhVmEvent, virtualNs: number): void;
  /** Every hypervisor trace event (subscribing turns tracing on). */
  trace?(event: TraceEvent): void;
  /** Names of the VMs whose booted DT to capture. */
  captureDt?: readonly string[];
  /** The session is ready to take input (VMs started). */
  started?(session: RunSession): void;
}

export class RunSession {
  private platform: Platform | undefined;
  private kernel: Kernel | undefined;
  private stopRequested = false;
  private stopWake: (() => void) | undefined;
  private readonly vmms = new Map<string, Vmm>();

  constructor(
    readonly board: LoadedBoard,
    private readonly hooks: SessionHooks,
  ) {}

  get machine() {
    return this.platform?.machine;
  }

  get hypervisor() {
    return this.platform?.hv;
  }

  /** Ask every VM to stop (Ctrl-C): safe to call any time, from outside the simulation. */
  requestStop(): void {
    if (this.stopRequested) return;
    this.stopRequested = true;
    const m = this.platform?.machine;
    if (m?.running) m.post(() => this.stopWake?.());
  }

  /** Input for a VM's console (attach): delivered inside the simulation. */
  writeConsole(vm: string, bytes: Uint8Array): void {
    const v = this.vmms.get(vm);
    const m = this.platform?.machine;
    if (!v || !m?.running) return;
    m.post(() => void v.writeConsole(bytes).catch(() => undefined));
  }

  async run(): Promise<SessionResult> {
    const { board } = this;
    let result: SessionResult | undefined;
    const subs: Subscription[] = [];
    const platform = bootPlatform(board.tree, {
      hypervisor: { capIds: 'random' },
      primaryEntry: async (cpu: GuestCpu) => {
        const k = await bootPrimaryKernel(cpu, {
          kernelImage: { base: platform.primary.entry, size: PRIMARY_IMAGE_SIZE },
          secondaryEntry: platform.primary.entry + PRIMARY_SECONDARY_ENTRY_OFFSET,
          ...(this.hooks.primaryLog ? { console: (r: LogRecord) => this.hooks.primaryLog!(r) } : {}),
        });
        this.kernel = k;
        const { vms, pagesNotReclaimed } = await this.supervise(k, platform);
        result = {
          vms,
          stopped: this.stopRequested,
          invariants: [],
          pagesNotReclaimed,
          virtualNs: platform.machine.now,
        };
        platform.machine.stop();
      },
    });
    this.platform = platform;
    platform.machine.registerEntry(platform.primary.entry + PRIMARY_SECONDARY_ENTRY_OFFSET, secondaryEntry);
    if (this.hooks.trace) {
      const hook = this.hooks.trace;
      subs.push(platform.hv.trace$.subscribe((e) => hook(e)));
    }
    try {
      await platform.machine.runForever();
    } finally {
      for (const s of subs) s.unsubscribe();
    }
    if (!result) throw new Error('the platform stopped before the primary VM finished');
    const r: SessionResult = result;
    r.invariants = platform.hv.checkInvariants();
    r.virtualNs = platform.machine.now;
    return r;
  }

  /** The primary VM's job: run every VM, wait for them, tear them down. */
  /**
   * The device placement hook of a VM whose devices need one (placement "native" or "stub", or a
   * virtio device, whose emulator needs the guest's RAM shared): the VM description decides.
   */
  private placementsFor(vm: BoardVm, k: Kernel, platform: Platform): VmmOptions {
    const needs = vm.desc.devices.some((d) => d.placement !== 'vmm' || d.compatible.includes('virtio,mmio'));
    if (!needs) return {};
    const stubs = vm.stubImage ? new StubVms({ kernel: k, hv: platform.hv, image: vm.stubImage }) : undefined;
    const devices = new DevicePlacements({ clock: k.clock, hv: platform.hv, appImages: vm.appImages, keepOutput: false, ...(stubs ? { stubs } : {}) });
    return { devices };
  }

  private async supervise(k: Kernel, platform: Platform): Promise<{ vms: VmOutcome[]; pagesNotReclaimed: number }> {
    const mgr = vmManager(k);
    const cpus = k.cpus.online();
    const freePagesBefore = k.mm.pages.freePages;
    const names = new Map<number, string>();
    const freed = new Set<number>();
    const freedWaiters = new Map<number, () => void>();
    const sub = mgr.events$.subscribe((e) => {
      const name = names.get(e.vmid);
      if (name !== undefined) this.hooks.vmEvent?.(name, e, platform.machine.now);
      if (e.kind === 'freed') {
        freed.add(e.vmid);
        freedWaiters.get(e.vmid)?.();
      }
    });
    const stop = new Promise<void>((resolve) => {
      this.stopWake = resolve;
      if (this.stopRequested) resolve();
    });
    const outcomes: VmOutcome[] = [];
    const created: { vmm: Vmm; outcome: VmOutcome }[] = [];
    // Create every VM first, then start them all: they come up together, as compose starts services.
    for (const [i, vm] of this.board.vms.entries()) {
      if (this.stopRequested) break;
      const { desc } = vm;
      const outcome: VmOutcome = { name: desc.name, vmid: 0, exit: { kind: 'stopped' }, runs: 0, mmioExits: 0, memory: desc.memorySize };
      outcomes.push(outcome);
      const proc = k.spawn(`vmm-${desc.name}`, cpus[i % cpus.length]!.cpu);
      try {
        const vmm = await Vmm.create(proc, desc, vm.image, this.placementsFor(vm, k, platform));
        outcome.vmid = vmm.vmid;
        names.set(vmm.vmid, desc.name);
        this.hooks.vmEvent?.(desc.name, { vmid: vmm.vmid, kind: 'created' }, platform.machine.now);
        created.push({ vmm, outcome });
      } catch (e) {
        outcome.exit = { kind: 'error', error: e instanceof Error ? e : new Error(String(e)) };
        await proc.exit();
      }
    }
    const running: { vmm: Vmm; outcome: VmOutcome }[] = [];
    for (const { vmm, outcome } of created) {
      const name = vmm.desc.name;
      this.vmms.set(name, vmm);
      vmm.console$.subscribe({
        next: (b) => this.hooks.console(name, b),
        complete: () => this.hooks.consoleEnd?.(name),
        error: () => this.hooks.consoleEnd?.(name),
      });
      try {
        if (this.stopRequested) throw new Error('stopped before it started');
        await vmm.start();
      } catch (e) {
        outcome.exit = { kind: 'error', error: e instanceof Error ? e : new Error(String(e)) };
        await vmm.close();
        if (!freed.has(vmm.vmid)) await new Promise<void>((r) => freedWaiters.set(vmm.vmid, r));
        await vmm.proc.exit();
        continue;
      }
      if (this.hooks.captureDt?.includes(name)) outcome.dtb = readBootDtb(platform, vmm);
      running.push({ vmm, outcome });
    }
    this.hooks.started?.(this);
    const allExited = Promise.all(running.map((r) => r.vmm.exited));
    await Promise.race([allExited, stop]);
    await Promise.all(
      running.map(async ({ vmm, outcome }) => {
        outcome.exit = await vmm.stop();
        outcome.runs = vmm.stats.runs;
        outcome.mmioExits = vmm.stats.mmioExits;
        if (!freed.has(vmm.vmid)) await new Promise<void>((r) => freedWaiters.set(vmm.vmid, r));
        await vmm.proc.exit();
      }),
    );
    sub.unsubscribe();
    this.vmms.clear();
    return { vms: outcomes, pagesNotReclaimed: freePagesBefore - k.mm.pages.freePages };
  }
}

/** The VM's DT region as the RM left it (patched in place before VM_START returned): read from host memory. */
function readBootDtb(platform: Platform, vmm: Vmm): Uint8Array {
  const pa = Number(vmm.guestMemory + vmm.desc.memorySize - DTB_REGION);
  const head = new Uint8Array(8);
  platform.machine.mem.read(pa, head);
  const total = Math.min(new DataView(head.buffer).getUint32(4), Number(DTB_REGION));
  const out = new Uint8Array(total);
  platform.machine.mem.read(pa, out);
  return out;
}
