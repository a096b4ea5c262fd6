// ioremap'd register windows: bounds-checked little-endian MMIO accessors (readl/writel...) over a vCPU.
import type { AccessSize, Cpu } from '../arch/cpu';

export class IoMem {
  constructor(
    private readonly cpu: Cpu,
    readonly base: bigint,
    readonly size: bigint,
  ) {}

  /** The same window accessed from another vCPU (e.g. a CPU programming its own redistributor). */
  on(cpu: Cpu): IoMem {
    return new IoMem(cpu, this.base, this.size);
  }

  /** A sub-window at `offset`. */
  slice(offset: bigint, size: bigint): IoMem {
    this.check(offset, Number(size) as AccessSize, size);
    return new IoMem(this.cpu, this.base + offset, size);
  }

  private check(offset: bigint, width: number, span = BigInt(width)): void {
    if (offset < 0n || offset + span > this.size) {
      throw new RangeError(`MMIO access at +0x${offset.toString(16)} (${span} bytes) outside window 0x${this.base.toString(16)}+0x${this.size.toString(16)}`);
    }
  }

  async read(offset: bigint | number, width: AccessSize): Promise<bigint> {
    const off = BigInt(offset);
    this.check(off, width);
    return this.cpu.mmioRead(this.base + off, width);
  }

  async write(offset: bigint | number, width: AccessSize, value: bigint | number): Promise<void> {
    const off = BigInt(offset);
    this.check(off, width);
    await this.cpu.mmioWrite(this.base + off, width, BigInt.asUintN(width * 8, BigInt(value)));
  }

  async readl(offset: bigint | number): Promise<number> {
    return Number(await this.read(offset, 4));
  }

  writel(offset: bigint | number, value: number): Promise<void> {
    return this.write(offset, 4, value >>> 0);
  }

  readq(offset: bigint | number): Promise<bigint> {
    return this.read(offset, 8);
  }

  writeq(offset: bigint | number, value: bigint): Promise<void> {
    return this.write(offset, 8, value);
  }

  async readb(offset: bigint | number): Promise<number> {
    return Number(await this.read(offset, 1));
  }

  writeb(offset: bigint | number, value: number): Promise<void> {
    return this.write(offset, 1, value & 0xff);
  }
}
