// The PL011 UART (the register model in ./pl011) on the device emulator interface, so it runs in every
// placement like the virtio devices, the VMM's built-in one included: its interrupt line and
// transmitted bytes go to the placement's DeviceEnv, host input comes in through `input`.
import { Pl011, PL011_SIZE } from './pl011';
import type { AccessSize, DeviceEmulator, DeviceEnv, DeviceFactory } from '../device';

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

  /**
   * Host input takes only what the receive FIFO has room for (a chardev backend asks can_receive
   * first): the host keeps the rest and offers it again once the guest has read, so host input never
   * overruns the FIFO. Overrun stays what it is on hardware, a guest that does not read in time with
   * a line that does not wait; this backend waits.
   */
  input(bytes: Uint8Array): number {
    const u = this.u;
    return u.receive(bytes.subarray(0, u.rxRoom));
  }

  /** The register model's counters (accesses, bytes moved). */
  get uartStats(): Readonly<Pl011['stats']> | undefined {
    return this.uart?.stats;
  }
}

export const pl011Factory: DeviceFactory = () => new Pl011Device();
