// The platform bus: creates devices from the DT (of_platform_populate), matches them against the
// contributed drivers by compatible, probes in DT order, retries deferred probes whenever a driver binds,
// and removes in reverse bind order.
import { Container, ContainerModule, inject, injectable, multiInject, optional } from 'inversify';
import { DeviceTree, ofDeviceIsAvailable, type DtNode } from '../../dt/index';
import { Errno, errnoName, toErrno } from '../errno';
import { ofBestMatch, ofReg } from '../of/of-base';
import { Printk, type PrintkImpl } from '../printk/printk';
import { IrqCore, type IrqCoreImpl } from '../irq/irq-core';
import { Cpus, type CpusImpl } from '../kernel/cpus';
import { Device, Driver, KernelContainer, NodeValidator, OfNode, ProbeDefer, type OfDeviceId } from './driver';
import { PlatformDevice, type DeviceServices } from './platform-device';

/** Nodes whose children are populated too (of_default_bus_match_table). */
export const DEFAULT_BUS_MATCH = ['simple-bus', 'simple-mfd', 'isa', 'arm,amba-bus'];

/** What `devices()` reports for each device. */
export interface DeviceInfo {
  name: string;
  path: string;
  compatible: string[];
  driver: string | undefined;
  state: PlatformDevice['state'];
  error: string | undefined;
}

export const PlatformBus = Symbol('PlatformBus');
export type PlatformBus = PlatformBusImpl;

@injectable()
export class PlatformBusImpl {
  private readonly devs: PlatformDevice[] = [];
  private readonly drivers: Driver[] = [];
  private readonly bound: PlatformDevice[] = [];
  private readonly names = new Set<string>();
  private probing: Promise<void> = Promise.resolve();
  /** Set when a driver bound since the deferred list was last retried (driver_deferred_probe_trigger). */
  private triggered = false;
  private readonly services: DeviceServices;

  constructor(
    @inject(DeviceTree) private readonly tree: DeviceTree,
    @inject(Printk) private readonly printk: PrintkImpl,
    @inject(KernelContainer) private readonly root: Container,
    @inject(IrqCore) irq: IrqCoreImpl,
    @inject(Cpus) cpus: CpusImpl,
    @inject(NodeValidator) @optional() private readonly validator: NodeValidator | undefined,
    @multiInject(Driver) @optional() drivers: readonly Driver[] | undefined,
  ) {
    this.services = { tree, irq, bootCpu: cpus.boot.cpu };
    for (const d of drivers ?? []) this.addDriver(d);
  }

  private addDriver(d: Driver): void {
    if (this.drivers.some((x) => x.name === d.name)) throw new Errno('EEXIST', `driver ${d.name} registered twice`);
    this.drivers.push(d);
  }

  // ---- devices ----

  /** of_platform_populate from `from` (default the root): devices for available children with compatible. */
  populate(from: DtNode = this.tree.root, parent?: PlatformDevice): PlatformDevice[] {
    const made: PlatformDevice[] = [];
    for (const child of from.children) {
      if (!child.has('compatible') || !ofDeviceIsAvailable(child)) continue;
      if (this.devs.some((d) => d.node === child)) continue;
      const dev = new PlatformDevice(this.makeName(child), child, parent, this.services);
      this.devs.push(dev);
      made.push(dev);
      const compat = child.strings('compatible') ?? [];
      if (compat.some((c) => DEFAULT_BUS_MATCH.includes(c))) made.push(...this.populate(child, dev));
    }
    return made;
  }

  /**
   * of_device_make_bus_id: `<translated reg address>.<node name>`, else the full node name (with its unit
   * address); made unique with a suffix.
   */
  private makeName(node: DtNode): string {
    let name: string;
    try {
      const reg = ofReg(node)[0];
      name = reg ? `${reg.address.toString(16)}.${node.nodeName}` : node.name;
    } catch {
      name = node.name;
    }
    if (this.names.has(name)) {
      let i = 1;
      while (this.names.has(`${name}.${i}`)) i++;
      name = `${name}.${i}`;
    }
    this.names.add(name);
    return name;
  }

  all(): readonly PlatformDevice[] {
    return this.devs;
  }

  find(pred: (d: PlatformDevice) => boolean): PlatformDevice | undefined {
    return this.devs.find(pred);
  }

  byNode(node: DtNode): PlatformDevice | undefined {
    return this.devs.find((d) => d.node === node);
  }

  devices(): DeviceInfo[] {
    return this.devs.map((d) => ({
      name: d.name,
      path: d.node.path,
      compatible: d.compatible,
      driver: d.driver?.name,
      state: d.state,
      error: d.lastError,
    }));
  }

  // ---- probing ----

  /** Probe every unbound device, then retry deferred ones until nothing more binds. Serialized. */
  probeAll(): Promise<void> {
    this.probing = this.probing.then(() => this.runProbeAll());
    return this.probing;
  }

  /** driver_register at run time: add `driver` and probe the devices it matches. */
  async registerDriver(driver: Driver): Promise<void> {
    this.addDriver(driver);
    await this.probeAll();
  }

  private async runProbeAll(): Promise<void> {
    for (const dev of [...this.devs]) {
      if (dev.state === 'unbound') await this.tryProbe(dev);
    }
    while (this.triggered) {
      this.triggered = false;
      // Deferred devices, and devices a bound bus driver created during this pass (unbound).
      for (const dev of [...this.devs]) {
        if (dev.state === 'deferred' || dev.state === 'unbound') await this.tryProbe(dev);
      }
    }
  }

  /** The driver whose match table names the most specific of the node's compatibles. */
  private matchDriver(dev: PlatformDevice): { driver: Driver; entry: OfDeviceId } | undefined {
    let best: { driver: Driver; entry: OfDeviceId; score: number } | undefined;
    for (const driver of this.drivers) {
      const m = ofBestMatch(driver.ofMatchTable, dev.node);
      if (m && (!best || m.score > best.score)) best = { driver, entry: m.entry, score: m.score };
    }
    return best;
  }

  private async tryProbe(dev: PlatformDevice): Promise<void> {
    const m = this.matchDriver(dev);
    if (!m) return;
    if (this.validator) {
      const violations = this.validator.validateNode(this.tree, dev.node);
      if (violations.length > 0) {
        for (const v of violations) {
          const what = v.property === undefined ? 'node' : `property '${v.property}'`;
          this.printk.err(`${m.driver.name} ${dev.name}: DT binding violation at ${v.path}: ${what} fails '${v.rule}': ${v.message}`);
        }
        dev.state = 'invalid';
        dev.lastError = `${violations.length} binding violation(s)`;
        return;
      }
    }
    dev.state = 'probing';
    dev.driver = m.driver;
    dev.match = m.entry;
    const container = new Container({ parent: this.root });
    const own = new ContainerModule(({ bind }) => {
      bind(OfNode).toConstantValue(dev.node);
      bind(Device).toConstantValue(dev);
    });
    dev.container = container;
    let outcome: ProbeDefer | Error | undefined;
    try {
      container.load(own);
      if (m.driver.deviceModule) container.load(m.driver.deviceModule);
      const r = await m.driver.probe(dev);
      if (r instanceof ProbeDefer) outcome = r;
    } catch (e) {
      outcome = e instanceof Error ? e : new Error(String(e));
    }
    if (outcome === undefined) {
      dev.state = 'bound';
      dev.lastError = undefined;
      this.bound.push(dev);
      this.triggered = true;
      this.printk.debug(`${m.driver.name} ${dev.name}: bound`);
      return;
    }
    await this.unwind(dev, container);
    if (outcome instanceof ProbeDefer) {
      dev.state = 'deferred';
      dev.lastError = outcome.reason;
      this.printk.debug(`${m.driver.name} ${dev.name}: probe deferred: ${outcome.reason}`);
    } else {
      const errno = toErrno(outcome);
      dev.state = 'failed';
      dev.lastError = outcome.message;
      this.printk.err(`${m.driver.name} ${dev.name}: probe failed with error -${errno.errno} (${errnoName(errno.errno)}): ${outcome.message}`);
    }
  }

  /** Release a device's managed resources and its container (failed probe or remove). */
  private async unwind(dev: PlatformDevice, container: Container): Promise<void> {
    for (const f of await dev.devres.releaseAll()) {
      this.printk.err(`${dev.driver?.name ?? '?'} ${dev.name}: releasing ${f.name} failed: ${f.error instanceof Error ? f.error.message : String(f.error)}`);
    }
    try {
      await container.unbindAllAsync();
    } catch (e) {
      this.printk.err(`${dev.name}: container teardown failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    dev.container = undefined;
    dev.driver = undefined;
    dev.match = undefined;
    dev.setDrvdata(undefined);
  }

  /** Unbind one device (device_release_driver). */
  async remove(dev: PlatformDevice): Promise<void> {
    if (dev.state !== 'bound') return;
    const driver = dev.driver!;
    try {
      await driver.remove?.(dev);
    } catch (e) {
      this.printk.err(`${driver.name} ${dev.name}: remove failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    const i = this.bound.indexOf(dev);
    if (i >= 0) this.bound.splice(i, 1);
    await this.unwind(dev, dev.container!);
    dev.state = 'unbound';
  }

  /** Remove every bound device, newest binding first (device_shutdown order). */
  async shutdown(): Promise<void> {
    await this.probing;
    while (this.bound.length > 0) await this.remove(this.bound[this.bound.length - 1]!);
  }

  /** Devices still waiting on something after probing settled. */
  deferred(): PlatformDevice[] {
    return this.devs.filter((d) => d.state === 'deferred');
  }
}
