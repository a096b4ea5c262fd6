// The kernel object and its boot: memory layout, the DI container (core service modules plus every
// driver module given), PSCI, the IRQ vector, device population and probe, SMP bring-up. Many kernels may
// live in one process (the primary VM's and those inside secondary VMs).
import { Container, type ContainerModule, type ServiceIdentifier } from 'inversify';
import { DeviceTree } from '../../dt/index';
import type { Cpu } from '../arch/cpu';
import { mpidrAffinity } from '../arch/cpu';
import { Hypercalls } from '../arch/hypercalls';
import { Psci } from '../arch/psci';
import { SmcccConduit } from '../arch/smccc';
import { KernelContainer, NodeValidator } from '../bus/driver';
import { loadBindings } from '../../bindings/index';
import { busModule } from '../bus/bus.module';
import { PlatformBus, type DeviceInfo, type PlatformBusImpl } from '../bus/platform-bus';
import { irqModule } from '../irq/irq.module';
import { IrqCore, type IrqCoreImpl } from '../irq/irq-core';
import { layoutMemory, type Reservation } from '../mm/memblock';
import { Mm, MmImpl } from '../mm/mm';
import { Printk, PrintkImpl } from '../printk/printk';
import { Clock, ClockImpl } from '../time/clock';
import { timeModule } from '../time/time.module';
import { mailboxModule } from '../mailbox/mailbox.module';
import { vfsModule } from '../vfs/vfs.module';
import { Vfs, type VfsImpl } from '../vfs/vfs';
import { ttyModule } from '../tty/tty.module';
import { Mailbox, type MailboxImpl } from '../mailbox/mailbox';
import { TtyCore, type TtyCoreImpl } from '../tty/tty-core';
import type { Process } from '../vfs/process';
import { Cpus, CpusImpl } from './cpus';
import { KernelBootError } from './kernel-error';
import { bringUpSecondaries } from './smp';
import { DtbBootError, readBootDtb } from './dtb-read';
import { BootCpu, BootOptions, KernelToken } from './tokens';

/** The core service modules every kernel loads (in this order, before driver modules). */
export const CORE_MODULES: readonly ContainerModule[] = [irqModule, busModule, timeModule, mailboxModule, vfsModule, ttyModule];

/** The bindings/ schemas as the bus's node validator (loaded once per process, then cached). */
function defaultValidator(): NodeValidator {
  const set = loadBindings();
  return { validateNode: (tree, node) => set.validateNode(tree, node) };
}

const kernels = new Map<bigint, Kernel>();
let nextKernelId = 1n;

/** The kernel registered under a secondary-entry context ID. */
export function kernelById(id: bigint): Kernel | undefined {
  return kernels.get(id);
}

/**
 * The secondary CPU entry: PSCI CPU_ON starts a vCPU here with x0 = the kernel's context ID (the image
 * maps BootOptions.secondaryEntry to this function).
 */
export async function secondaryEntry(cpu: Cpu): Promise<void> {
  const k = kernels.get(cpu.x[0]!);
  if (!k) throw new Error(`secondary CPU ${cpu.index}: no kernel with context ID ${cpu.x[0]}`);
  await k.secondaryStart(cpu);
}

export class Kernel {
  readonly id = nextKernelId++;
  readonly name: string;
  readonly container = new Container();
  readonly clock: ClockImpl;
  readonly printk: PrintkImpl;
  readonly cpus: CpusImpl;
  mm!: MmImpl;
  psci: Psci | undefined;
  private readonly onlineWaiters = new Map<bigint, () => void>();
  private state: 'booting' | 'running' | 'down' = 'booting';

  constructor(
    readonly bootCpu: Cpu,
    readonly tree: DeviceTree,
    readonly options: BootOptions,
  ) {
    this.name = options.name ?? `kernel${this.id}`;
    this.clock = new ClockImpl(bootCpu);
    this.printk = new PrintkImpl(() => this.clock.now(), options.logBufLen);
    if (options.console) this.printk.registerConsole(options.console);
    this.clock.onCallbackError = (e) => this.printk.err(`timer callback failed: ${e instanceof Error ? e.message : String(e)}`);
    this.cpus = new CpusImpl(bootCpu);
  }

  get irq(): IrqCoreImpl {
    return this.container.get<IrqCoreImpl>(IrqCore);
  }

  get bus(): PlatformBusImpl {
    return this.container.get<PlatformBusImpl>(PlatformBus);
  }

  get vfs(): VfsImpl {
    return this.container.get<VfsImpl>(Vfs);
  }

  get mailbox(): MailboxImpl {
    return this.container.get<MailboxImpl>(Mailbox);
  }

  get tty(): TtyCoreImpl {
    return this.container.get<TtyCoreImpl>(TtyCore);
  }

  /** A new process (on the boot CPU unless another is given). */
  spawn(name?: string, cpu?: Cpu, sharing?: Process): Process {
    return this.vfs.spawn(name, cpu, sharing);
  }

  get<T>(id: ServiceIdentifier<T>): T {
    return this.container.get<T>(id);
  }

  dmesg(): string {
    return this.printk.text();
  }

  devices(): DeviceInfo[] {
    return this.bus.devices();
  }

  get running(): boolean {
    return this.state === 'running';
  }

  private panic(message: string, cause?: unknown): never {
    this.printk.emerg(`Kernel panic - not syncing: ${message}`);
    this.state = 'down';
    kernels.delete(this.id);
    throw new KernelBootError(message, this.printk.text(), cause === undefined ? undefined : { cause });
  }

  /** Boot on the boot CPU. `reserved` are boot-protocol regions (the DTB) kept out of the allocator. */
  async boot(reserved: readonly Reservation[]): Promise<void> {
    const p = this.printk;
    const boot = this.bootCpu;
    p.notice(`Booting gunyah-ts kernel on physical CPU 0x${mpidrAffinity(boot.mpidr).toString(16).padStart(10, '0')} [${this.name}]`);
    const model = this.tree.root.string('model');
    if (model) p.info(`Machine model: ${model}`);
    const bootargs = this.tree.findNode('/chosen')?.string('bootargs');
    if (bootargs !== undefined) p.notice(`Kernel command line: ${bootargs}`);

    // Memory.
    const extra: Reservation[] = [...reserved];
    if (this.options.kernelImage) extra.push({ name: 'kernel image', ...this.options.kernelImage });
    try {
      this.mm = new MmImpl(layoutMemory(this.tree, extra), boot);
    } catch (e) {
      this.panic(`memory layout: ${e instanceof Error ? e.message : String(e)}`, e);
    }
    for (const r of this.mm.layout.reserved) {
      p.info(`Reserved memory: ${r.name} 0x${r.base.toString(16)}..0x${(r.base + r.size - 1n).toString(16)}${r.noMap ? ' (no-map)' : ''}`);
    }
    const mi = this.mm.meminfo();
    p.info(`Memory: ${mi.MemFree}K/${this.mm.layout.ram.reduce((s, r) => s + Number(r.size) / 1024, 0)}K available`);

    // Container.
    this.wire();

    // PSCI from the DT.
    this.psci = this.probePsci();
    if (this.psci) {
      try {
        const v = await this.psci.version();
        p.info(`psci: PSCIv${v.major}.${v.minor} detected in firmware.`);
      } catch (e) {
        p.err(`psci: PSCI_VERSION failed (${e instanceof Error ? e.message : String(e)}); PSCI disabled`);
        this.psci = undefined;
      }
    }

    // Interrupts: the vector first, so whatever arrives before the GIC driver is acknowledged.
    const irq = this.irq;
    boot.setIrqVector(() => irq.handleArchIrq(boot));
    boot.setIrqMasked(false);

    // Devices.
    const bus = this.bus;
    bus.populate();
    await bus.probeAll();

    // SMP.
    const up = await bringUpSecondaries({
      tree: this.tree,
      printk: p,
      clock: this.clock,
      psci: this.psci,
      bootMpidr: boot.mpidr,
      secondaryEntry: this.options.secondaryEntry,
      contextId: this.id,
      timeoutNs: this.options.cpuUpTimeoutNs ?? 1e9,
      waitOnline: (aff) => new Promise<void>((resolve) => this.onlineWaiters.set(aff, resolve)),
      cancelWait: (aff) => this.onlineWaiters.delete(aff),
    });
    p.info(`smp: Brought up 1 node, ${up + 1} CPU${up === 0 ? '' : 's'}`);

    const devs = bus.devices();
    const bound = devs.filter((d) => d.state === 'bound').length;
    for (const d of bus.deferred()) p.warn(`platform ${d.name}: deferred probe pending: ${d.lastError ?? ''}`);
    p.info(`devices: ${devs.length} platform devices, ${bound} bound`);
    this.state = 'running';
  }

  private wire(): void {
    const c = this.container;
    const o = this.options;
    c.bind(KernelContainer).toConstantValue(c);
    c.bind(KernelToken).toConstantValue(this);
    c.bind(BootCpu).toConstantValue(this.bootCpu);
    c.bind(BootOptions).toConstantValue(o);
    c.bind(DeviceTree).toConstantValue(this.tree);
    c.bind(Printk).toConstantValue(this.printk);
    c.bind(Clock).toConstantValue(this.clock);
    c.bind(Cpus).toConstantValue(this.cpus);
    c.bind(Mm).toConstantValue(this.mm);
    c.bind(Hypercalls).toConstantValue(this.cpus.boot.hyp);
    const validator = o.validator === undefined ? defaultValidator() : o.validator;
    if (validator) c.bind(NodeValidator).toConstantValue(validator);
    try {
      c.load(...CORE_MODULES, ...(o.drivers ?? []));
    } catch (e) {
      this.panic(`module wiring failed: ${e instanceof Error ? e.message : String(e)}`, e);
    }
  }

  /** The /psci node (arm,psci-1.0 / 0.2 / arm,psci) and its conduit. */
  private probePsci(): Psci | undefined {
    const node = this.tree.root.children.find((n) => (n.strings('compatible') ?? []).some((c) => c.startsWith('arm,psci')));
    if (!node) return undefined;
    const method = node.string('method');
    if (method !== 'hvc' && method !== 'smc') {
      this.printk.err(`psci: ${node.path}: method ${method === undefined ? '(missing)' : JSON.stringify(method)} is not hvc or smc`);
      return undefined;
    }
    const conduit = method === 'hvc' ? this.cpus.boot.conduit : new SmcccConduit(this.bootCpu, 'smc');
    return new Psci(conduit);
  }

  /** A secondary CPU entering the kernel (after PSCI CPU_ON): cpuhp startup, vector, then idle. */
  async secondaryStart(cpu: Cpu): Promise<void> {
    const pc = this.cpus.attach(cpu);
    cpu.setIrqVector(() => this.irq.handleArchIrq(cpu));
    try {
      await this.cpus.bringOnline(pc);
    } catch (e) {
      this.printk.err(`CPU${cpu.index}: bring-up failed: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    cpu.setIrqMasked(false);
    const aff = mpidrAffinity(cpu.mpidr);
    const w = this.onlineWaiters.get(aff);
    this.onlineWaiters.delete(aff);
    w?.();
  }

  /** Remove every device (reverse bind order), stop timers and close the log streams. */
  async shutdown(): Promise<void> {
    if (this.state === 'down') return;
    this.state = 'down';
    await this.vfs.killAll();
    await this.bus.shutdown();
    for (const pc of this.cpus.online()) {
      pc.cpu.setIrqVector(undefined);
      pc.cpu.setTimer(undefined);
    }
    this.printk.info('reboot: kernel halted');
    this.printk.close();
    kernels.delete(this.id);
  }

  register(): void {
    kernels.set(this.id, this);
  }
}

/** Boot a kernel from an already unflattened device tree (tests, and the DTB path below). */
export async function startKernel(cpu: Cpu, tree: DeviceTree, opts: BootOptions = {}, reserved: readonly Reservation[] = []): Promise<Kernel> {
  const k = new Kernel(cpu, tree, opts);
  k.register();
  await k.boot(reserved);
  return k;
}

/**
 * Boot a kernel on `cpu` from the DTB at `dtbAddress` in the VM's memory (x0 at entry). A DTB that cannot
 * be read or parsed refuses the boot with a KernelBootError naming the problem.
 */
export async function bootKernel(cpu: Cpu, dtbAddress: bigint, opts: BootOptions = {}): Promise<Kernel> {
  let dtb;
  try {
    dtb = readBootDtb(cpu, dtbAddress);
  } catch (e) {
    if (!(e instanceof DtbBootError)) throw e;
    const log = new PrintkImpl(() => 0);
    log.emerg(`Kernel panic - not syncing: ${e.message}`);
    throw new KernelBootError(e.message, log.text(), { cause: e });
  }
  return startKernel(cpu, dtb.tree, opts, [{ name: 'DTB', base: dtbAddress, size: BigInt(dtb.totalsize) }]);
}
