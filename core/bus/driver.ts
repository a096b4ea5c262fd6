// The driver side of the device model: the `Driver` contribution token, the probe outcome (deferral is a
// typed result, not an exception), and the tokens a bound device's child container holds.
import type { ContainerModule } from 'inversify';
import type { DeviceTree, DtNode } from '../../dt/index';
export type { OfDeviceId } from '../of/of-base';
import type { OfDeviceId } from '../of/of-base';
import type { PlatformDevice } from './platform-device';
import { E } from '../errno';

/** A platform driver, contributed by binding it to the `Driver` token (multi-injection). */
export const Driver = Symbol('Driver');
export interface Driver {
  readonly name: string;
  /** The compatibles this driver binds, as data (struct of_device_id[]). */
  readonly ofMatchTable: readonly OfDeviceId[];
  /** Bindings loaded into each bound device's child container (its node and device are already there). */
  readonly deviceModule?: ContainerModule;
  probe(dev: PlatformDevice): Promise<ProbeResult>;
  remove?(dev: PlatformDevice): Promise<void>;
}

/** The probe cannot finish until something else binds (EPROBE_DEFER); the bus retries it later. */
export class ProbeDefer {
  readonly errno = E.EPROBE_DEFER;
  constructor(readonly reason: string) {}
}

export const probeDefer = (reason: string): ProbeDefer => new ProbeDefer(reason);

export type ProbeResult = void | ProbeDefer;

/** In a bound device's child container: its DT node (a `DtNode`). */
export const OfNode = Symbol('OfNode');
/** In a bound device's child container: the `PlatformDevice`. */
export const Device = Symbol('Device');
/** The kernel's root container (parent of every device container). */
export const KernelContainer = Symbol('KernelContainer');

/** One violation of a DT binding schema, as the bindings/ validator reports it. */
export interface BindingViolation {
  path: string;
  /** Absent when the rule is about the node as a whole. */
  property?: string;
  rule: string;
  message: string;
}

/**
 * The seam where the platform bus checks a node against its binding before probing. bindings/ provides
 * the implementation (`loadBindings()` -> `validateNode`); with nothing bound, nodes are not checked.
 */
export const NodeValidator = Symbol('NodeValidator');
export interface NodeValidator {
  validateNode(tree: DeviceTree, node: DtNode): readonly BindingViolation[];
}
