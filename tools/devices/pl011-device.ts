// The PL011 UART of the VMM (tools/vmm/devices/pl011.ts) on the device emulator interface, so it runs
// in every placement like the virtio devices: the register model is unchanged, its interrupt line and
// transmitted bytes go to the placement's DeviceEnv, host input comes in through `input`.
import { Pl011, PL011_SIZE } from '../vmm/devices/pl011';
import type { AccessSize, DeviceEmulator, DeviceEnv, DeviceFactory } from './device';

/** Modelled cost of one register access of the UART model (ns). */
const PL011_ACCESS_NS = 20;

export class Pl011Device implements DeviceEmulator {
  readonly name = 'pl011';
  readonly windowSize = PL011_SIZE;
  private uart: Pl011 | undefined;
  private env: DeviceEnv | undefined;

  init(env: DeviceEnv): void {
    this.env = env;
    this.uart = new Pl011({ onTx: (b) => env.chardev?.write(b), onIrq: (level) => env.setIrq(level) });
    env.setIrq(false);
  }

  private get u(): Pl011 {
    if (!this.uart) throw new Error('pl011: used before init');
    return this.uart;
  }

  read(offset: number, size: AccessSize): bigint {
    this.env?.charge(PL011_ACCESS_NS);
    return BigInt(this.u.read(offset, size) >>> 0);
  }

  write(offset: number, size: AccessSize, value: bigint): void {
    this.env?.charge(PL011_ACCESS_NS);
    this.u.write(offset, size, Number(BigInt.asUintN(32, value)));
  }

  timer(): void {}

  input(bytes: Uint8Array): number {
    return this.u.receive(bytes);
  }
}

export const pl011Factory: DeviceFactory = () => new Pl011Device();
