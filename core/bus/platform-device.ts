// A platform device: one DT node with `compatible`, its bound driver, its child container and its
// managed resources, plus the resource helpers drivers use in probe (reg windows, IRQs, devm).
import type { Container } from 'inversify';
import { ofMatchString, ofRegs, type DeviceTree, type DtNode } from '../../dt/index';
import { Errno } from '../errno';
import { ofReg, type OfDeviceId, type OfReg } from '../of/of-base';
import type { Cpu } from '../arch/cpu';
import { IrqDomainMissing, type IrqCoreImpl, type RequestIrqOptions } from '../irq/irq-core';
import type { IrqHandler, IrqThreadFn } from '../irq/irq-types';
import { Devres } from './devres';
import { ProbeDefer, type Driver } from './driver';
import { IoMem } from './iomem';

export type DeviceState = 'unbound' | 'probing' | 'bound' | 'deferred' | 'failed' | 'invalid';

/** What a device needs from the kernel to offer its helpers. */
export interface DeviceServices {
  readonly tree: DeviceTree;
  readonly irq: IrqCoreImpl;
  readonly bootCpu: Cpu;
}

export class PlatformDevice {
  state: DeviceState = 'unbound';
  driver: Driver | undefined = undefined;
  match: OfDeviceId | undefined = undefined;
  /** Present while bound (and during probe). */
  container: Container | undefined = undefined;
  readonly devres = new Devres();
  /** Why the last probe deferred or failed. */
  lastError: string | undefined = undefined;
  private drvdata: unknown;

  constructor(
    readonly name: string,
    readonly node: DtNode,
    readonly parent: PlatformDevice | undefined,
    private readonly services: DeviceServices,
  ) {}

  get compatible(): string[] {
    return this.node.strings('compatible') ?? [];
  }

  /** dev_set_drvdata / dev_get_drvdata. */
  setDrvdata<T>(data: T): void {
    this.drvdata = data;
  }

  getDrvdata<T>(): T | undefined {
    return this.drvdata as T | undefined;
  }

  /** The match entry's data (of_device_get_match_data). */
  matchData<T>(): T | undefined {
    return this.match?.data as T | undefined;
  }

  /** `reg` entry `index` translated to a CPU address; ENXIO when absent. */
  resource(index: number): OfReg {
    const r = ofReg(this.node)[index];
    if (!r) throw new Errno('ENXIO', `${this.name}: no reg entry ${index}`);
    return r;
  }

  /** `reg` entry `index` as written (bus values: cap IDs under /hypervisor, for instance). */
  rawResource(index: number): OfReg {
    const r = ofRegs(this.node)[index];
    if (!r) throw new Errno('ENXIO', `${this.name}: no reg entry ${index}`);
    return r;
  }

  /** devm_platform_ioremap_resource: a register window on the boot vCPU. */
  ioremap(index: number): IoMem {
    const r = this.resource(index);
    return new IoMem(this.services.bootCpu, r.address, r.size);
  }

  /**
   * platform_get_irq: interrupt `index` as a virq, or ProbeDefer while its controller has not bound.
   * ENXIO when the node lists no such interrupt.
   */
  getIrq(index: number): number | ProbeDefer {
    const r = this.services.irq.ofIrqGet(this.node, index);
    if (r instanceof IrqDomainMissing) return new ProbeDefer(`interrupt controller ${r.controller.path} not ready`);
    if (r === undefined) throw new Errno('ENXIO', `${this.name}: no interrupt ${index}`);
    return r;
  }

  /** platform_get_irq_byname, with `interrupt-names`. */
  getIrqByName(name: string): number | ProbeDefer {
    const i = ofMatchString(this.node, 'interrupt-names', name);
    if (i < 0) throw new Errno('ENXIO', `${this.name}: no interrupt named ${name}`);
    return this.getIrq(i);
  }

  /** devm_add_action: `release` runs on remove or when probe fails. */
  devmAdd(name: string, release: () => void | Promise<void>): void {
    this.devres.add(name, release);
  }

  /** devm_request_threaded_irq. */
  async devmRequestIrq(virq: number, handler: IrqHandler | undefined, thread: IrqThreadFn | undefined, opts: RequestIrqOptions): Promise<void> {
    const devId = opts.devId ?? this;
    await this.services.irq.requestThreadedIrq(virq, handler, thread, { ...opts, devId });
    this.devres.add(`irq ${virq} (${opts.name})`, () => this.services.irq.freeIrq(virq, devId));
  }
}
