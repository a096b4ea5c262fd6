// The VMM's device placement hook: each device of a VM description runs where its `placement` says,
// with the same emulator and the same guest DT in every case.
//   "native": a native app in the hypervisor (placement A), loaded from its image (the device's
//             `native-app`, else the bundled app of its kind) into the VM's window and SPI once the
//             VM exists and before any of its vCPUs has run;
//   "vmm":    in the VMM after MMIO exits, with ioeventfd kicks and an irqfd (placement B);
//   "stub":   in a stub VM of its own, over message queues and a doorbell (placement C).
// Loading a native app or starting a stub VM is a platform operation (this stack's RM has no call
// for it, as Xen's toolstack does it from dom0): the hook is given the hypervisor's host interface.
import { ReplaySubject, type Observable } from 'rxjs';
import type { ClockImpl } from '../../../core/index';
import { appFromImage, GIC_SPI_BASE, NativeAppHost, NativeAppLoadError, type Hypervisor, type NativeApp, type NativeAppImage } from '../../../firmware/hypervisor/index';
import type { Vmm, VmmDeviceContext, VmmDeviceProvider } from '../../vmm/vmm';
import type { DeviceDescription, Placement } from '../../vmm/vm-description';
import type { CharSink, LogLevel } from '../device';
import { VmmDeviceHost } from '../vmm/vmm-device-host';
import { deviceKindOf, DevicePlacementError, nativeAppRef, type DeviceKind } from './device-factories';
import type { StubDevice, StubVmLauncher } from './stub-launcher';

/** One device as placed. */
export interface PlacedDevice {
  readonly name: string;
  readonly placement: Placement;
  /** What the device sent to its character backend. */
  readonly output$: Observable<Uint8Array>;
  /** Bytes collected from output$ so far (empty when the placements do not keep output). */
  readonly out: number[];
  /** Host bytes into the device's character backend; resolves with the bytes accepted. */
  input(bytes: Uint8Array): Promise<number>;
  /** Placement-specific counters. */
  stats(): Record<string, unknown>;
}

export interface DevicePlacementsOptions {
  /** The primary kernel's clock (VMM-side timers). */
  clock: ClockImpl;
  /** The hypervisor's host interface: needed for "native" and "stub". */
  hv?: Hypervisor;
  /** Starts stub VMs (placement "stub"). */
  stubs?: StubVmLauncher;
  /**
   * Native app images by reference ("builtin:<name>" or a path), loaded before the machine runs
   * (nativeAppRefs lists what a description needs): placement "native" loads its app from here.
   */
  appImages?: ReadonlyMap<string, Uint8Array>;
  /** Collect every device's output in `PlacedDevice.out` (default true; a long run turns it off). */
  keepOutput?: boolean;
  /** Force every device into this placement (benchmarks, tests); else the description's. */
  placement?: Placement;
  log?: (level: LogLevel, message: string) => void;
}

class Output implements CharSink {
  readonly subject = new ReplaySubject<Uint8Array>(64);
  readonly out: number[] = [];
  constructor(
    private readonly keep: boolean,
    /** The VMM's console, when this device is the VM's console. */
    private readonly console: CharSink | undefined,
  ) {}
  write(bytes: Uint8Array): void {
    if (this.keep) for (const b of bytes) this.out.push(b);
    this.subject.next(bytes.slice());
    this.console?.write(bytes);
  }
}

interface Pending {
  name: string;
  base: bigint;
  size: bigint;
  spi: number;
  kind: DeviceKind;
  /** Placement "native": the app, loaded from its image. */
  app: NativeAppImage | undefined;
  output: Output;
  placement: 'native' | 'stub';
  attached?: NativeApp | StubDevice | undefined;
  /** Counters as they were when the device was taken down. */
  finalStats?: Record<string, unknown>;
}

export class DevicePlacements implements VmmDeviceProvider {
  /** Virtio emulators do DMA into guest RAM: the VMM shares it rather than lending it. */
  readonly shareMemory = true;
  readonly devices = new Map<string, PlacedDevice>();
  private readonly vmmHosts: VmmDeviceHost[] = [];
  private readonly pending: Pending[] = [];
  private nativeHost: NativeAppHost | undefined;
  private readonly outputs: Output[] = [];

  constructor(private readonly o: DevicePlacementsOptions) {}

  create(ctx: VmmDeviceContext): { device: VmmDeviceHost; irqEventFd: number } | null {
    const { dev } = ctx;
    const placement = this.o.placement ?? dev.placement;
    const kind = deviceKindOf(dev);
    const output = new Output(this.o.keepOutput ?? true, ctx.console);
    this.outputs.push(output);
    const place = (input: PlacedDevice['input'], stats: PlacedDevice['stats']) =>
      this.devices.set(dev.name, { name: dev.name, placement, output$: output.subject.asObservable(), out: output.out, input, stats });
    if (placement === 'vmm') {
      const host = new VmmDeviceHost({ vmm: ctx.vmm, dev, factory: kind.factory(), clock: this.o.clock, chardev: output, ...(this.o.log ? { log: this.o.log } : {}) });
      this.vmmHosts.push(host);
      place(async (b) => host.input(b), () => ({ ...host.stats }));
      return { device: host, irqEventFd: host.irqEventFd };
    }
    if (!this.o.hv) throw new DevicePlacementError(`${dev.node.path}: placement "${placement}" needs the hypervisor's host interface`);
    if (placement === 'stub' && !this.o.stubs) throw new DevicePlacementError(`${dev.node.path}: placement "stub" needs a stub VM launcher`);
    if (ctx.spi === undefined) throw new DevicePlacementError(`${dev.node.path}: no interrupt assigned`);
    const app = placement === 'native' ? this.appFor(dev) : undefined;
    const p: Pending = { name: dev.name, base: dev.base, size: dev.size, spi: GIC_SPI_BASE + ctx.spi, kind, app, output, placement };
    this.pending.push(p);
    place(
      (b) => (p.attached ? p.attached.input(b) : Promise.resolve(0)),
      () => ({ ...(p.app ? { app: p.app.name } : {}), ...(p.attached?.stats ?? p.finalStats ?? {}) }),
    );
    return null;
  }

  /** The device's native app, checked and compiled now so that a bad image fails the VM's creation. */
  private appFor(dev: DeviceDescription): NativeAppImage {
    const ref = nativeAppRef(dev);
    const bytes = this.o.appImages?.get(ref);
    if (!bytes) throw new DevicePlacementError(`${dev.node.path}: native app image "${ref}" was not loaded`);
    try {
      return appFromImage(`${dev.name} (${ref})`, bytes);
    } catch (e) {
      if (e instanceof NativeAppLoadError) throw new DevicePlacementError(`${dev.node.path}: native-app ${e.message}`);
      throw e;
    }
  }

  /** Console input for a console device placed outside the VMM (the VMM retries what is not taken). */
  consoleInput(device: string, bytes: Uint8Array): Promise<number> {
    const d = this.devices.get(device);
    return d ? d.input(bytes) : Promise.resolve(0);
  }

  async beforeRun(vmm: Vmm, vmFd: number): Promise<void> {
    for (const h of this.vmmHosts) await h.attachKicks(vmFd);
    for (const p of this.pending) {
      const hv = this.o.hv!;
      if (p.placement === 'native') {
        this.nativeHost ??= new NativeAppHost(hv);
        p.attached = this.nativeHost.attach(p.app!, {
          vmid: vmm.vmid,
          base: p.base,
          size: p.size,
          spi: p.spi,
          chardev: (b) => p.output.write(b),
          ...(this.o.log ? { log: this.o.log } : {}),
        });
      } else {
        const ram = vmm.guestRam;
        p.attached = await this.o.stubs!.launch({
          guestVmid: vmm.vmid,
          name: p.name,
          base: p.base,
          size: p.size,
          spi: p.spi,
          kind: p.kind.stubKind,
          chardev: p.output,
          guestRam: { gpa: vmm.desc.memoryBase, size: ram.size, vmmAddr: ram.addr },
          guestProcess: vmm.proc,
        });
      }
    }
  }

  async close(): Promise<void> {
    for (const h of this.vmmHosts) await h.close();
    for (const p of this.pending) {
      const a = p.attached;
      p.attached = undefined;
      if (!a) continue;
      p.finalStats = { ...a.stats };
      if (p.placement === 'native') this.nativeHost?.detach(a as NativeApp);
      else await (a as StubDevice).close();
    }
    for (const o of this.outputs) o.subject.complete();
  }
}
