// An Arm PL011 UART (DDI 0183G, "PrimeCell UART (PL011) Technical Reference Manual") as a
// self-contained device model: register reads and writes at offsets, an interrupt line reported
// through a callback, bytes out through a callback and bytes in through `receive`. The register subset
// Linux's amba-pl011 driver and simple guests use: DR, RSR/ECR, FR, ILPR, IBRD, FBRD, LCR_H, CR, IFLS,
// IMSC, RIS, MIS, ICR, DMACR and the PrimeCell identification registers. The transmitter drains at
// once (the TX interrupt is always pending, as QEMU models it); the receive FIFO is 16 deep with
// FIFOs enabled (LCR_H.FEN), else 1.

export const PL011_REG = {
  DR: 0x000,
  RSR_ECR: 0x004,
  FR: 0x018,
  ILPR: 0x020,
  IBRD: 0x024,
  FBRD: 0x028,
  LCR_H: 0x02c,
  CR: 0x030,
  IFLS: 0x034,
  IMSC: 0x038,
  RIS: 0x03c,
  MIS: 0x040,
  ICR: 0x044,
  DMACR: 0x048,
} as const;

/** FR bits. */
export const PL011_FR = { BUSY: 1 << 3, RXFE: 1 << 4, TXFF: 1 << 5, RXFF: 1 << 6, TXFE: 1 << 7 } as const;
/** Interrupt bits (RIS/MIS/IMSC/ICR). */
export const PL011_INT = { RX: 1 << 4, TX: 1 << 5, RT: 1 << 6, FE: 1 << 7, PE: 1 << 8, BE: 1 << 9, OE: 1 << 10 } as const;
/** LCR_H.FEN: FIFOs enabled. */
const LCR_H_FEN = 1 << 4;
/** CR reset value: TXE | RXE. */
const CR_RESET = 0x300;
/** RSR/DR error bits (DR bits 11:8 hold them with the data). */
const RSR_OE = 1 << 3;
/** PeriphID0..3 then PCellID0..3 (what QEMU's pl011 reports: part 0x011, designer Arm, revision 1). */
export const PL011_ID = [0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1] as const;
const ID_BASE = 0xfe0;
const FIFO_DEPTH = 16;
/** The register window a PL011 decodes (4 KiB). */
export const PL011_SIZE = 0x1000;

export interface Pl011Options {
  /** Bytes the guest transmits. */
  onTx?: (bytes: Uint8Array) => void;
  /** The interrupt line changed (true: asserted). */
  onIrq?: (level: boolean) => void;
}

export class Pl011 {
  private readonly rx: number[] = [];
  private rsr = 0;
  private ilpr = 0;
  private ibrd = 0;
  private fbrd = 0;
  private lcrh = 0;
  private cr = CR_RESET;
  private ifls = 0x12;
  private imsc = 0;
  private dmacr = 0;
  /** Raw interrupt status: TX pending from reset (the FIFO is empty). */
  private ris = PL011_INT.TX;
  private irqLevel = false;
  /** Register accesses (reads + writes) and bytes moved, for tests and benchmarks. */
  readonly stats = { reads: 0, writes: 0, txBytes: 0, rxBytes: 0, rxDropped: 0 };

  constructor(private readonly opts: Pl011Options = {}) {}

  private get fifoDepth(): number {
    return this.lcrh & LCR_H_FEN ? FIFO_DEPTH : 1;
  }

  private update(): void {
    const level = (this.ris & this.imsc) !== 0;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.opts.onIrq?.(level);
    }
  }

  /** The interrupt line now. */
  get irq(): boolean {
    return this.irqLevel;
  }

  /** Host input: bytes into the receive FIFO; returns how many fitted (the rest overrun). */
  receive(bytes: Uint8Array): number {
    let n = 0;
    for (const b of bytes) {
      if (this.rx.length >= this.fifoDepth) {
        this.rsr |= RSR_OE;
        this.ris |= PL011_INT.OE;
        this.stats.rxDropped += bytes.length - n;
        break;
      }
      this.rx.push(b);
      n++;
    }
    this.stats.rxBytes += n;
    if (n > 0) this.ris |= PL011_INT.RX;
    this.update();
    return n;
  }

  /** Bytes waiting in the receive FIFO. */
  get rxLevel(): number {
    return this.rx.length;
  }

  /** Bytes the receive FIFO takes now without overrun (a backend's can_receive). */
  get rxRoom(): number {
    return Math.max(0, this.fifoDepth - this.rx.length);
  }

  /** A register load of `size` bytes at `offset` (unknown offsets read as zero, as RAZ). */
  read(offset: number, _size = 4): number {
    this.stats.reads++;
    switch (offset) {
      case PL011_REG.DR: {
        const b = this.rx.shift();
        // The receive interrupt clears once the FIFO is drained (no trigger level below one byte here).
        if (this.rx.length === 0) this.ris &= ~(PL011_INT.RX | PL011_INT.RT);
        this.update();
        return b === undefined ? 0 : b | ((this.rsr & 0xf) << 8);
      }
      case PL011_REG.RSR_ECR:
        return this.rsr;
      case PL011_REG.FR: {
        let fr = PL011_FR.TXFE;
        if (this.rx.length === 0) fr |= PL011_FR.RXFE;
        if (this.rx.length >= this.fifoDepth) fr |= PL011_FR.RXFF;
        return fr;
      }
      case PL011_REG.ILPR:
        return this.ilpr;
      case PL011_REG.IBRD:
        return this.ibrd;
      case PL011_REG.FBRD:
        return this.fbrd;
      case PL011_REG.LCR_H:
        return this.lcrh;
      case PL011_REG.CR:
        return this.cr;
      case PL011_REG.IFLS:
        return this.ifls;
      case PL011_REG.IMSC:
        return this.imsc;
      case PL011_REG.RIS:
        return this.ris;
      case PL011_REG.MIS:
        return this.ris & this.imsc;
      case PL011_REG.DMACR:
        return this.dmacr;
      default:
        if (offset >= ID_BASE && offset < ID_BASE + 0x20 && offset % 4 === 0) return PL011_ID[(offset - ID_BASE) / 4]!;
        return 0;
    }
  }

  /** A register store (writes to read-only or unknown offsets are ignored, as WI). */
  write(offset: number, _size: number, value: number): void {
    this.stats.writes++;
    const v = value >>> 0;
    switch (offset) {
      case PL011_REG.DR: {
        // Transmit only when the UART and its transmitter are enabled (CR.UARTEN, CR.TXE).
        if ((this.cr & 0x101) === 0x101) {
          this.stats.txBytes++;
          this.opts.onTx?.(Uint8Array.of(v & 0xff));
        }
        this.ris |= PL011_INT.TX;
        break;
      }
      case PL011_REG.RSR_ECR:
        this.rsr = 0;
        break;
      case PL011_REG.ILPR:
        this.ilpr = v & 0xff;
        break;
      case PL011_REG.IBRD:
        this.ibrd = v & 0xffff;
        break;
      case PL011_REG.FBRD:
        this.fbrd = v & 0x3f;
        break;
      case PL011_REG.LCR_H: {
        // Disabling the FIFOs flushes them to one entry's worth (the PL011 keeps the oldest).
        const wasFen = this.lcrh & LCR_H_FEN;
        this.lcrh = v & 0xff;
        if (wasFen && !(this.lcrh & LCR_H_FEN)) this.rx.splice(1);
        break;
      }
      case PL011_REG.CR:
        this.cr = v & 0xff87;
        break;
      case PL011_REG.IFLS:
        this.ifls = v & 0x3f;
        break;
      case PL011_REG.IMSC:
        this.imsc = v & 0x7ff;
        break;
      case PL011_REG.ICR:
        this.ris &= ~(v & 0x7ff);
        break;
      case PL011_REG.DMACR:
        this.dmacr = v & 0x7;
        break;
      default:
        return;
    }
    this.update();
  }
}
