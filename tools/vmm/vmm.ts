// The VMM: a program of the primary VM that creates one VM from a VM description through /dev/gunyah
// (memory from its own address space, the image and the DTB loaded into it), starts it, runs one loop
// per vCPU over GH_VCPU_RUN serving MMIO exits with its device models, and exposes the VM's console as
// a stream (the RM console through /dev/ttyGH<vmid>, or the PL011's output).
//
// Every device the VMM emulates itself is a device emulator (tools/devices' DeviceEmulator) in a
// VmmDeviceHost, as placement "vmm" of the placement hook runs it: without a hook (or where the hook
// leaves a device to the VMM) that is the PL011; devices that do DMA (virtio) and the other
// placements need a hook.
//
// One VMM per process: stopping a VM interrupts the process's blocked calls (a signal), as a VMM's
// vCPU threads are kicked out of KVM_RUN.
import { Observable, ReplaySubject } from 'rxjs';
import { Errno, O, type Process } from '../../core';
import { toFdt } from '../../dt';
import { GH_MEM_ALLOW_EXEC, GH_MEM_ALLOW_READ, GH_MEM_ALLOW_WRITE, GH_VCPU_EXIT, GH_VM_STATUS } from '../../drivers/virt';
import { ImageError, parseImageHeader } from '../../firmware/hypervisor';
import type { CharSink, DeviceFactory, LogLevel } from '../devices/device';
import { VirtioDeviceId } from '../../drivers/virtio';
import { pl011Factory } from '../devices/pl011/pl011-device';
import { VmmDeviceHost } from '../devices/vmm/vmm-device-host';
import { buildGuestDtb } from './guest-dtb';
import { GunyahUser, type VcpuRunPage } from './gunyah-user';
import type { DeviceDescription, VmDescription } from './vm-description';

/** Bytes at the top of guest RAM for the DTB (the RM writes its overlay into the same region). */
export const DTB_REGION = 0x1_0000n;

/**
 * Console input (bytes) the VMM holds for a PL011 console whose receive FIFO is full: a guest that
 * does not read makes `writeConsole` fail past this, rather than the VMM buffer without bound.
 */
export const CONSOLE_INPUT_LIMIT = 64 * 1024;

/**
 * Emulators the VMM runs without a placement hook. Only devices that need no DMA: the VM's RAM is
 * lent to it then, out of the VMM's reach (virtio needs the hook, which shares it).
 */
const BUILTIN_EMULATORS: readonly (readonly [compatible: string, factory: DeviceFactory])[] = [['arm,pl011', pl011Factory]];

/** A device the VMM emulates behind MMIO exits. */
export interface MmioDevice {
  readonly name: string;
  readonly base: bigint;
  readonly size: bigint;
  read(offset: number, size: number): bigint;
  write(offset: number, size: number, value: bigint): void;
}

/** RM exit types (spec §4.7). */
export const EXIT_TYPE_NAMES = ['VM_EXIT', 'PLATFORM_OFF', 'PLATFORM_RESET', 'PSCI_SYSTEM_RESET2', 'WATCHDOG_BITE', 'SOFTWARE_ERROR', 'ASYNC_HW_ERROR', 'VM_STOP_FORCED'] as const;

export type VmExit =
  | { kind: 'status'; status: number; statusName: 'load-failed' | 'exited' | 'crashed' | 'unknown'; exitType: number; exitTypeName: string; reason: Uint8Array; reasonSize: number }
  | { kind: 'stopped' }
  | { kind: 'error'; error: Error };

export class VmmError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VmmError';
  }
}

export interface VmmOptions {
  /** Image offset from the memory base (default 0; the RM starts the boot vCPU there). */
  imageOffset?: bigint;
  /** Device placement hook (tools/devices): who emulates each described device. */
  devices?: VmmDeviceProvider;
  /** Log lines of the devices the VMM emulates itself (dropped without it). */
  log?: (level: LogLevel, message: string) => void;
}

/** What a device provider is told about one described device. */
export interface VmmDeviceContext {
  vmm: Vmm;
  dev: DeviceDescription;
  /** The device's SPI in the guest DT (the same in every placement). */
  spi: number | undefined;
  /** Its doorbell label when the VMM raises its interrupt (placement "vmm"). */
  irqLabel: number | undefined;
  /**
   * Set when the device is the VM's console (console = "pl011" or "virtio"): where its character
   * output goes (the VMM's console$). A hook that emulates it outside the VMM feeds it input through
   * `consoleInput`.
   */
  console: CharSink | undefined;
}

/**
 * A hook that places devices (tools/devices): `create` returns the VMM's emulator of a device
 * (with the eventfd its irqfd uses), `null` when the device is emulated outside the VMM (the
 * hypervisor claims its window), or undefined for the VMM's built-in handling. `beforeRun` runs
 * after GH_VM_START and before any vCPU has run. `shareMemory` shares guest RAM with the VMM instead
 * of lending it (emulators that do DMA, such as virtio, need it).
 */
export interface VmmDeviceProvider {
  readonly shareMemory?: boolean;
  create(ctx: VmmDeviceContext): { device: MmioDevice; irqEventFd: number | undefined } | null | undefined;
  /** After the VM's RAM and DTB are set, before its vCPUs are added (more memory regions, say). */
  configure?(vmm: Vmm, vmFd: number): Promise<void>;
  beforeRun?(vmm: Vmm, vmFd: number): Promise<void>;
  close?(vmm: Vmm): Promise<void>;
  /** Console input for a console device the hook placed outside the VMM; resolves with bytes taken. */
  consoleInput?(device: string, bytes: Uint8Array): Promise<number>;
}

/** The device that is a VM's console: the first PL011 (console "pl011") or virtio-console ("virtio"). */
export function consoleDeviceOf(d: VmDescription): DeviceDescription | undefined {
  if (d.console === 'pl011') return d.devices.find((x) => x.compatible.includes('arm,pl011'));
  if (d.console === 'virtio') return d.devices.find((x) => x.compatible.includes('virtio,mmio') && (x.node.u32('virtio-device-type') ?? VirtioDeviceId.CONSOLE) === VirtioDeviceId.CONSOLE);
  return undefined;
}

/** Virtual time between retries of console input a device placed outside the VMM had no room for. */
const CONSOLE_RETRY_NS = 1_000_000;

interface VcpuHandle {
  id: number;
  fd: number;
  page: VcpuRunPage;
}

function statusName(s: number): 'load-failed' | 'exited' | 'crashed' | 'unknown' {
  return s === GH_VM_STATUS.LOAD_FAILED ? 'load-failed' : s === GH_VM_STATUS.EXITED ? 'exited' : s === GH_VM_STATUS.CRASHED ? 'crashed' : 'unknown';
}

export class Vmm {
  readonly g: GunyahUser;
  private devFd = -1;
  private vmFd = -1;
  vmid = 0;
  private mem = 0n;
  private readonly vcpus: VcpuHandle[] = [];
  private readonly devices: MmioDevice[] = [];
  private readonly eventFds: number[] = [];
  /** Eventfds of devices without a doorbell (closed with the VMM). */
  private readonly unboundFds: number[] = [];
  private ttyFd = -1;
  private readonly consoleSubject = new ReplaySubject<Uint8Array>(256);
  /** Devices the VMM emulates itself (no hook, or the hook left them to it), by node name. */
  private readonly hosts = new Map<string, VmmDeviceHost>();
  /** The PL011 that is the VM's console (console = "pl011": the first one), when the VMM runs it. */
  private consoleDevice: VmmDeviceHost | undefined;
  /** Input of the console device when a hook placed it outside the VMM. */
  private remoteConsole: ((bytes: Uint8Array) => Promise<number>) | undefined;
  private feeding = false;
  /** Host input for the console device not yet in its receive FIFO (fed as the guest drains it). */
  private readonly consoleInput: Uint8Array[] = [];
  private consoleInputBytes = 0;
  private log: ((level: LogLevel, message: string) => void) | undefined;
  private stopping = false;
  private closed = false;
  private exitResolve!: (e: VmExit) => void;
  /** Resolves when every vCPU loop has ended: with the VM's status exit, `stopped`, or an error. */
  readonly exited: Promise<VmExit>;
  readonly stats = { mmioExits: 0, mmioUnclaimed: 0, runs: 0 };
  private provider: VmmDeviceProvider | undefined;

  /** Where the VMM maps the guest's RAM (its own address), and the RAM's size. */
  get guestRam(): { addr: bigint; size: bigint } {
    return { addr: this.mem, size: this.desc.memorySize };
  }

  private constructor(
    readonly proc: Process,
    readonly desc: VmDescription,
  ) {
    this.g = new GunyahUser(proc);
    this.exited = new Promise((r) => (this.exitResolve = r));
  }

  /** Where the VM's RAM is mapped in the VMM's address space (identity: also its physical address). */
  get guestMemory(): bigint {
    return this.mem;
  }

  /** The VM's console output (replayed to late subscribers); completes when the VM goes away. */
  get console$(): Observable<Uint8Array> {
    return this.consoleSubject.asObservable();
  }

  /**
   * Create the VM (not started): /dev/gunyah, memory, image and DTB, devices and their irqfds,
   * vCPUs. Throws Errno from the ioctls, VmmError for a description it cannot serve.
   */
  static async create(proc: Process, desc: VmDescription, image: Uint8Array, opts: VmmOptions = {}): Promise<Vmm> {
    const v = new Vmm(proc, desc);
    v.provider = opts.devices;
    v.log = opts.log;
    try {
      await v.setup(image, opts.imageOffset ?? 0n);
    } catch (e) {
      await v.close();
      throw e;
    }
    return v;
  }

  private async setup(image: Uint8Array, imageOffset: bigint): Promise<void> {
    const d = this.desc;
    const g = this.g;
    try {
      const h = parseImageHeader(image);
      if (BigInt(h.imageSize) > d.memorySize - DTB_REGION - imageOffset) throw new VmmError(`the image (${h.imageSize} bytes) does not fit in ${d.memorySize} bytes of RAM`);
    } catch (e) {
      if (e instanceof ImageError) throw new VmmError(e.message);
      throw e;
    }
    if (imageOffset % 0x1000n !== 0n) throw new VmmError('the image offset must be page aligned');
    this.devFd = await g.openDev();
    this.vmFd = await g.createVm(this.devFd);
    this.vmid = await g.vmid(this.vmFd);
    const { tree, irqs, spis } = buildGuestDtb(d, { imageOffset });
    const dtb = toFdt(tree);
    if (BigInt(dtb.length) > DTB_REGION / 2n) throw new VmmError(`the DTB (${dtb.length} bytes) leaves no room for the RM's overlay`);
    this.mem = await g.allocGuestMemory(d.memorySize);
    this.proc.copyToUser(this.mem + imageOffset, image);
    this.proc.copyToUser(this.mem + d.memorySize - DTB_REGION, dtb);
    // The VM's RAM is lent: private to it while it runs (the RM makes it the VM's /memory).
    await g.setUserMemRegion(this.vmFd, { label: 0, flags: GH_MEM_ALLOW_READ | GH_MEM_ALLOW_WRITE | GH_MEM_ALLOW_EXEC, guestPhysAddr: d.memoryBase, size: d.memorySize, userspaceAddr: this.mem }, !this.provider?.shareMemory);
    await g.setDtbConfig(this.vmFd, d.memoryBase + d.memorySize - DTB_REGION, DTB_REGION);
    const consoleName = consoleDeviceOf(d)?.name;
    const consoleSink: CharSink = { write: (b) => this.consoleSubject.next(b.slice()) };
    for (const dev of d.devices) {
      const irqLabel = irqs.find((i) => i.device === dev.name)?.label;
      const isConsole = dev.name === consoleName;
      const placed = this.provider?.create({ vmm: this, dev, spi: spis.get(dev.name), irqLabel, console: isConsole ? consoleSink : undefined });
      if (placed === null) {
        if (isConsole) {
          const provider = this.provider!;
          if (!provider.consoleInput) throw new VmmError(`${dev.node.path}: the console is placed outside the VMM by a hook that takes no console input`);
          this.remoteConsole = (b) => provider.consoleInput!(dev.name, b);
        }
        continue;
      }
      if (placed) {
        if (isConsole && placed.device instanceof VmmDeviceHost) this.consoleDevice = placed.device;
        this.devices.push(placed.device);
        if (irqLabel !== undefined && placed.irqEventFd !== undefined) this.eventFds[irqLabel - 1] = placed.irqEventFd;
        continue;
      }
      this.devices.push(this.makeDevice(dev, irqLabel, consoleName));
    }
    await this.provider?.configure?.(this, this.vmFd);
    for (const irq of irqs) {
      const efd = this.eventFds.find((_, i) => i === irq.label - 1);
      if (efd === undefined) throw new VmmError(`no eventfd for ${irq.device}`);
      await g.addIrqfd(this.vmFd, efd, irq.label, true);
    }
    for (let i = 0; i < d.vcpus; i++) {
      const fd = await g.addVcpu(this.vmFd, i);
      this.vcpus.push({ id: i, fd, page: await g.mapRunPage(fd) });
    }
  }

  /**
   * The VMM's own handling of a device no hook took: placement "vmm" runs its emulator in a
   * VmmDeviceHost (interrupt through an irqfd, timers on the primary kernel's clock, work charged to
   * the VMM's CPU); "native" and "stub" need a hook that can reach the hypervisor.
   */
  private makeDevice(dev: DeviceDescription, irqLabel: number | undefined, consoleName: string | undefined): VmmDeviceHost {
    const where = dev.node.path;
    if (dev.placement === 'native') throw new VmmError(`${where}: placement "native" needs the hypervisor's host interface: give the VMM a device placement hook (VmmOptions.devices, tools/devices' DevicePlacements)`);
    if (dev.placement === 'stub') throw new VmmError(`${where}: placement "stub" needs a stub VM launcher: give the VMM a device placement hook (VmmOptions.devices, tools/devices' DevicePlacements with stubs)`);
    const factory = BUILTIN_EMULATORS.find(([c]) => dev.compatible.includes(c))?.[1];
    if (!factory) throw new VmmError(`${where}: the VMM has no built-in emulator of ${dev.compatible[0] ?? 'a device without compatible'} (virtio devices need a device placement hook, VmmOptions.devices)`);
    const isConsole = dev.name === consoleName;
    let host: VmmDeviceHost;
    try {
      host = new VmmDeviceHost({
        vmm: this,
        dev,
        factory,
        ...(isConsole ? { chardev: { write: (b: Uint8Array) => this.consoleSubject.next(b.slice()) } } : {}),
        ...(this.log ? { log: this.log } : {}),
      });
    } catch (e) {
      if (e instanceof RangeError) throw new VmmError(e.message);
      throw e;
    }
    this.hosts.set(dev.name, host);
    if (irqLabel !== undefined) this.eventFds[irqLabel - 1] = host.irqEventFd;
    else this.unboundFds.push(host.irqEventFd);
    if (isConsole) this.consoleDevice = host;
    return host;
  }

  /** A device the VMM emulates itself (its emulator, counters and charged time), by node name. */
  hostedDevice(name: string): VmmDeviceHost | undefined {
    return this.hosts.get(name);
  }

  /** GH_VM_START, then the console reader and one run loop per vCPU. */
  async start(): Promise<void> {
    await this.g.start(this.vmFd);
    for (const h of this.hosts.values()) await h.attachKicks(this.vmFd);
    await this.provider?.beforeRun?.(this, this.vmFd);
    if (this.desc.console === 'rm') {
      try {
        this.ttyFd = await this.proc.open(`/dev/ttyGH${this.vmid}`, O.RDWR | O.NOCTTY);
        void this.readConsole();
      } catch (e) {
        this.consoleSubject.error(e);
      }
    }
    const loops = this.vcpus.map((v) => this.runLoop(v));
    void Promise.all(loops).then((results) => {
      const status = results.find((r) => r.kind === 'status');
      const err = results.find((r) => r.kind === 'error');
      this.exitResolve(err ?? status ?? results[0] ?? { kind: 'stopped' });
      if (this.desc.console !== 'rm') this.consoleSubject.complete();
    });
  }

  private async readConsole(): Promise<void> {
    try {
      for (;;) {
        const b = await this.proc.readBytes(this.ttyFd, 4096);
        if (b.length === 0) break;
        this.consoleSubject.next(b);
      }
      this.consoleSubject.complete();
    } catch (e) {
      // Interrupted by stop() or the tty went away: the stream ends.
      if (Errno.is(e, 'EINTR') || this.closed) this.consoleSubject.complete();
      else this.consoleSubject.error(e);
    }
  }

  /**
   * Bytes to the VM's console (RM console input, or the PL011's receive FIFO). PL011 input the FIFO
   * cannot take yet waits in the VMM and is fed as the guest reads; more than CONSOLE_INPUT_LIMIT
   * bytes waiting fails with VmmError and takes none of `bytes` (the guest is not reading).
   */
  async writeConsole(bytes: Uint8Array): Promise<void> {
    if (this.desc.console === 'rm' && this.ttyFd >= 0) await this.proc.writeBytes(this.ttyFd, bytes);
    else if (this.consoleDevice || this.remoteConsole) {
      if (this.closed) throw new VmmError('the VM is closed');
      if (this.consoleInputBytes + bytes.length > CONSOLE_INPUT_LIMIT) throw new VmmError(`console input: ${this.consoleInputBytes} bytes still wait for the guest to read them; ${bytes.length} more would pass the limit of ${CONSOLE_INPUT_LIMIT}`);
      if (bytes.length === 0) return;
      this.consoleInput.push(bytes.slice());
      this.consoleInputBytes += bytes.length;
      this.feedConsole();
    } else throw new VmmError('the VM has no console to write to');
  }

  /** Console input waiting for room in the device's receive FIFO (bytes). */
  get consoleInputPending(): number {
    return this.consoleInputBytes;
  }

  /** Move queued console input into the device as far as it takes it (it never overruns its FIFO). */
  private feedConsole(): void {
    if (this.remoteConsole) {
      void this.feedRemoteConsole();
      return;
    }
    const dev = this.consoleDevice;
    if (!dev) return;
    while (this.consoleInput.length > 0) {
      const head = this.consoleInput[0]!;
      const n = dev.input(head);
      this.consoleInputBytes -= n;
      if (n >= head.length) this.consoleInput.shift();
      else {
        this.consoleInput[0] = head.subarray(n);
        break;
      }
    }
  }

  /**
   * Console input for a device emulated outside the VMM (a native app, a stub VM): offered in order;
   * what its FIFO has no room for is offered again after CONSOLE_RETRY_NS of virtual time, as the
   * device does not tell the VMM when the guest has drained it.
   */
  private async feedRemoteConsole(): Promise<void> {
    const input = this.remoteConsole;
    if (!input || this.feeding) return;
    this.feeding = true;
    try {
      while (this.consoleInput.length > 0 && !this.closed) {
        const head = this.consoleInput[0]!;
        const n = Math.min(await input(head), head.length);
        this.consoleInputBytes -= n;
        if (n >= head.length) this.consoleInput.shift();
        else {
          this.consoleInput[0] = head.subarray(n);
          await this.proc.clock.sleep(CONSOLE_RETRY_NS);
        }
      }
    } finally {
      this.feeding = false;
    }
  }

  private device(addr: bigint, len: number): MmioDevice | undefined {
    return this.devices.find((d) => addr >= d.base && addr + BigInt(len) <= d.base + d.size);
  }

  private async runLoop(v: VcpuHandle): Promise<VmExit> {
    const p = v.page;
    for (;;) {
      try {
        this.stats.runs++;
        await this.g.vcpuRun(v.fd);
      } catch (e) {
        if (this.stopping && Errno.is(e, 'EINTR')) return { kind: 'stopped' };
        return { kind: 'error', error: e instanceof Error ? e : new Error(String(e)) };
      }
      const reason = p.exitReason;
      if (reason === GH_VCPU_EXIT.MMIO) {
        this.stats.mmioExits++;
        const addr = p.mmioAddr;
        const len = p.mmioLen;
        const dev = this.device(addr, len);
        if (!dev) this.stats.mmioUnclaimed++;
        if (p.mmioIsWrite) dev?.write(Number(addr - dev.base), len, BigInt.asUintN(len * 8, p.mmioData));
        else p.mmioData = dev ? BigInt.asUintN(len * 8, dev.read(Number(addr - dev.base), len)) : 0n;
        if (this.consoleInput.length > 0 && this.consoleDevice) this.feedConsole();
        continue;
      }
      if (reason === GH_VCPU_EXIT.STATUS) {
        const info = p.exitInfo;
        return { kind: 'status', status: p.status, statusName: statusName(p.status), exitType: info.type, exitTypeName: EXIT_TYPE_NAMES[info.type] ?? `type ${info.type}`, reason: info.reason, reasonSize: info.reasonSize };
      }
      return { kind: 'error', error: new VmmError(`vCPU ${v.id}: unexpected exit reason ${reason}`) };
    }
  }

  /** Stop a running VM: kick every vCPU out of GH_VCPU_RUN, then release it (the kernel stops it). */
  async stop(): Promise<VmExit> {
    if (!this.stopping) {
      this.stopping = true;
      for (const v of this.vcpus) v.page.immediateExit = true;
      this.proc.interrupt();
    }
    const exit = this.vcpus.length > 0 && this.vmFd >= 0 ? await this.exited : ({ kind: 'stopped' } as const);
    await this.close();
    return exit;
  }

  /**
   * Close every fd and unmap the VM's memory. The last reference to the VM going away makes the
   * kernel stop it, reset it through the RM, reclaim its memory and free its VMID.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.provider?.close?.(this).catch(() => undefined);
    for (const h of this.hosts.values()) await h.close();
    this.consoleInput.length = 0;
    this.consoleInputBytes = 0;
    const closeFd = async (fd: number) => {
      if (fd >= 0) await this.proc.close(fd).catch(() => undefined);
    };
    for (const v of this.vcpus) {
      try {
        this.proc.munmap(v.page.addr, 4096n);
      } catch {
        // already gone
      }
      await closeFd(v.fd);
    }
    for (const fd of [...this.eventFds, ...this.unboundFds]) if (fd !== undefined) await closeFd(fd);
    await closeFd(this.ttyFd);
    await closeFd(this.vmFd);
    await closeFd(this.devFd);
    if (this.mem !== 0n) {
      try {
        this.proc.munmap(this.mem, this.desc.memorySize);
      } catch {
        // already gone
      }
    }
  }
}
