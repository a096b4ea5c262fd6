// The vGIC's MMIO frames: the GICv3 distributor (64 KiB) and each vCPU's redistributor (RD_base +
// SGI_base, 128 KiB) with the registers a Linux GICv3 driver uses (Arm IHI 0069, GICv3 spec §12).
import type { VdeviceAccess, VdeviceRange } from '../mem/addrspace';
import type { Vcpu } from '../vm/vcpu';
import { GIC_SPI_BASE, GicdCtlr, type IrqState } from './irq-state';
import type { Vic } from './vic';

export const GICD_SIZE = 0x10000;
/** One redistributor: RD_base and SGI_base frames (GICv3). */
export const GICR_STRIDE = 0x20000;
const SGI_BASE = 0x10000;

/** Implementer JEP106 0x70 (Qualcomm), ProductID 'G' for Gunyah, as the hypervisor's vGIC reports. */
export const GIC_IIDR = (0x47 << 24) | 0x070;
/** PIDR2.ArchRev = 3: GICv3. Linux checks this on both frames. */
export const GIC_PIDR2 = 0x30;
/** Priority bits the virtual CPU interface implements (5): the low three bits read as zero. */
const PRIO_MASK = 0xf8;

const GICD_TYPER =
  31 | // ITLinesNumber: INTIDs up to 1023 (ceil(988 / 32) = 31)
  (1 << 16) | // MBIS
  (9 << 19) | // IDbits: 10 bits of INTID
  (1 << 24) | // A3V
  (1 << 25); // No1N: 1-of-N routing not supported

/** Bit-per-INTID register bank offsets shared by GICD and the SGI frame. */
const BANKS = { IGROUPR: 0x080, ISENABLER: 0x100, ICENABLER: 0x180, ISPENDR: 0x200, ICPENDR: 0x280, ISACTIVER: 0x300, ICACTIVER: 0x380 } as const;

function readBit(bank: number, s: IrqState): boolean {
  switch (bank) {
    case BANKS.IGROUPR:
      return s.group1;
    case BANKS.ISENABLER:
    case BANKS.ICENABLER:
      return s.enabled;
    case BANKS.ISPENDR:
    case BANKS.ICPENDR:
      return s.pending;
    default:
      return s.active;
  }
}

/** Apply a one bit of a set/clear register to `s`; `owner` is the vCPU whose redistributor tracks it. */
function writeBit(vic: Vic, owner: Vcpu | undefined, bank: number, s: IrqState, set: boolean): void {
  switch (bank) {
    case BANKS.IGROUPR:
      s.group1 = set;
      break;
    case BANKS.ISENABLER:
      if (!set) return;
      s.enabled = true;
      break;
    case BANKS.ICENABLER:
      if (!set) return;
      s.enabled = false;
      break;
    case BANKS.ISPENDR:
      if (!set) return;
      if (s.cfgEdge) s.edge = true;
      else s.swPend = true;
      break;
    case BANKS.ICPENDR:
      if (!set) return;
      s.edge = false;
      s.swPend = false;
      // A latched source level survives only while the source still asserts it (vgic_undeliver
      // consults virq_check_pending for a level_src it does not clear itself).
      if (s.level && s.source) s.level = s.source.checkPending(false);
      break;
    case BANKS.ISACTIVER:
      if (!set) return;
      (owner ?? vic.spiTarget(s))?.gic.activate(s);
      return;
    case BANKS.ICACTIVER:
      if (!set) return;
      if (s.active) {
        const holder = owner ?? vic.spiTarget(s);
        if (holder) holder.gic.deactivate(s);
        else s.active = false;
      }
      return;
  }
  vic.changed(s, owner);
}

function bankOf(off: number): number | undefined {
  for (const b of Object.values(BANKS)) if (off >= b && off < b + 0x80) return b;
  return undefined;
}

/** Read a 32-bit bit-per-INTID register covering INTIDs base..base+31. */
function readBank(states: (intid: number) => IrqState | undefined, bank: number, base: number): number {
  let v = 0;
  for (let i = 0; i < 32; i++) {
    const s = states(base + i);
    if (s && readBit(bank, s)) v |= 1 << i;
  }
  return v >>> 0;
}

function writeBank(vic: Vic, owner: Vcpu | undefined, states: (intid: number) => IrqState | undefined, bank: number, base: number, value: number): void {
  for (let i = 0; i < 32; i++) {
    const s = states(base + i);
    if (!s) continue;
    const bit = ((value >>> i) & 1) === 1;
    if (bank === BANKS.IGROUPR) writeBit(vic, owner, bank, s, bit);
    else if (bit) writeBit(vic, owner, bank, s, true);
  }
}

function readPriority(states: (intid: number) => IrqState | undefined, first: number, size: number): bigint {
  let v = 0n;
  for (let i = 0; i < size; i++) v |= BigInt(states(first + i)?.priority ?? 0) << BigInt(8 * i);
  return v;
}

function writePriority(vic: Vic, owner: Vcpu | undefined, states: (intid: number) => IrqState | undefined, first: number, size: number, value: bigint): void {
  for (let i = 0; i < size; i++) {
    const s = states(first + i);
    if (!s) continue;
    s.priority = Number((value >> BigInt(8 * i)) & 0xffn) & PRIO_MASK;
    vic.changed(s, owner);
  }
}

function readCfg(states: (intid: number) => IrqState | undefined, base: number): number {
  let v = 0;
  for (let i = 0; i < 16; i++) if (states(base + i)?.cfgEdge) v |= 2 << (2 * i);
  return v >>> 0;
}

function writeCfg(vic: Vic, owner: Vcpu | undefined, states: (intid: number) => IrqState | undefined, base: number, value: number): void {
  for (let i = 0; i < 16; i++) {
    const s = states(base + i);
    if (!s || s.intid < 16) continue; // SGIs are always edge
    const edge = ((value >>> (2 * i + 1)) & 1) === 1;
    if (edge === s.cfgEdge) continue;
    s.cfgEdge = edge;
    if (!edge) s.edge = false;
    vic.changed(s, owner);
  }
}

/** The distributor frame of `vic`. */
export function gicdDevice(vic: Vic, base: number): VdeviceRange {
  const spi = (intid: number) => (intid >= GIC_SPI_BASE ? vic.spi(intid) : undefined);
  return {
    kind: 'gicd',
    base,
    read(_ctx: VdeviceAccess, off: number, size: number): bigint {
      if (off >= 0x400 && off < 0x800) return readPriority(spi, off - 0x400, size);
      if (off >= 0x6100 && off < 0x8000) {
        const s = vic.spi((off - 0x6000) >>> 3);
        if (!s) return 0n;
        return size === 8 ? s.irouter : off & 4 ? s.irouter >> 32n : s.irouter & 0xffff_ffffn;
      }
      if (size !== 4) return 0n;
      const bank = bankOf(off);
      if (bank !== undefined) {
        const n = (off - bank) >>> 2;
        return n === 0 ? 0n : BigInt(readBank(spi, bank, n * 32));
      }
      if (off >= 0xc00 && off < 0xd00) {
        const n = (off - 0xc00) >>> 2;
        return n < 2 ? 0n : BigInt(readCfg(spi, n * 16));
      }
      switch (off) {
        case 0x0:
          return BigInt(vic.gicdCtlr);
        case 0x4:
          return BigInt(GICD_TYPER);
        case 0x8:
          return BigInt(GIC_IIDR);
        case 0xffe8:
          return BigInt(GIC_PIDR2);
        default:
          return 0n;
      }
    },
    write(_ctx: VdeviceAccess, off: number, size: number, value: bigint): void {
      if (off >= 0x400 && off < 0x800) return writePriority(vic, undefined, spi, off - 0x400, size, value);
      if (off >= 0x6100 && off < 0x8000) {
        const s = vic.spi((off - 0x6000) >>> 3);
        if (!s) return;
        let r = s.irouter;
        if (size === 8) r = value;
        else if (off & 4) r = (r & 0xffff_ffffn) | ((value & 0xffff_ffffn) << 32n);
        else r = (r & ~0xffff_ffffn) | (value & 0xffff_ffffn);
        // IRM (bit 31) reads as zero: No1N.
        s.irouter = r & 0xff_00ff_ffffn;
        const idx = vic.indexOf(s.irouter);
        vic.reroute(s, idx);
        return;
      }
      if (size !== 4) return;
      const v = Number(value & 0xffff_ffffn);
      const bank = bankOf(off);
      if (bank !== undefined) {
        const n = (off - bank) >>> 2;
        if (n > 0) writeBank(vic, undefined, spi, bank, n * 32, v);
        return;
      }
      if (off >= 0xc00 && off < 0xd00) {
        const n = (off - 0xc00) >>> 2;
        if (n >= 2) writeCfg(vic, undefined, spi, n * 16, v);
        return;
      }
      if (off === 0x0) {
        vic.gicdCtlr = (v & (GicdCtlr.ENABLE_GRP0 | GicdCtlr.ENABLE_GRP1)) | GicdCtlr.ARE | GicdCtlr.DS;
        vic.ctlrChanged();
      } else if (off === 0x40 || off === 0x48) {
        // SETSPI_NSR / CLRSPI_NSR: message-based SPI set and clear.
        const s = vic.spi(v & 0x3ff);
        if (!s) return;
        if (off === 0x40) {
          if (s.cfgEdge) s.edge = true;
          else s.swPend = true;
        } else {
          s.edge = false;
          s.swPend = false;
        }
        vic.changed(s);
      }
    },
  };
}

/** The redistributor frames of the vCPU at `index` of `vic`. */
export function gicrDevice(vic: Vic, vcpu: Vcpu, base: number, last: boolean): VdeviceRange {
  const priv = (intid: number) => (intid < GIC_SPI_BASE ? vcpu.gic.priv[intid] : undefined);
  return {
    kind: 'gicr',
    base,
    read(_ctx: VdeviceAccess, off: number, size: number): bigint {
      if (off === 0x8 || off === 0xc) {
        // GICR_TYPER: affinity in 63:32, Processor_Number 23:8, Last bit 4.
        const aff = (((vcpu.mpidr >> 32n) & 0xffn) << 24n) | (vcpu.mpidr & 0xff_ffffn);
        const t = (aff << 32n) | (BigInt(vcpu.index) << 8n) | (last ? 1n << 4n : 0n);
        return size === 8 ? t : off === 0xc ? t >> 32n : t & 0xffff_ffffn;
      }
      if (off >= SGI_BASE + 0x400 && off < SGI_BASE + 0x420) return readPriority(priv, off - SGI_BASE - 0x400, size);
      if (size !== 4) return 0n;
      if (off >= SGI_BASE) {
        const o = off - SGI_BASE;
        const bank = bankOf(o);
        if (bank !== undefined) return o === bank ? BigInt(readBank(priv, bank, 0)) : 0n;
        if (o === 0xc00) return BigInt(readCfg(priv, 0));
        if (o === 0xc04) return BigInt(readCfg(priv, 16));
        return 0n;
      }
      switch (off) {
        case 0x0:
          return 0n; // CTLR: no LPIs, RWP clear
        case 0x4:
          return BigInt(GIC_IIDR);
        case 0x14:
          return vcpu.gic.sleep ? 0b110n : 0n; // WAKER: ProcessorSleep, ChildrenAsleep
        case 0xffe8:
          return BigInt(GIC_PIDR2);
        default:
          return 0n;
      }
    },
    write(_ctx: VdeviceAccess, off: number, size: number, value: bigint): void {
      if (off >= SGI_BASE + 0x400 && off < SGI_BASE + 0x420) return writePriority(vic, vcpu, priv, off - SGI_BASE - 0x400, size, value);
      if (size !== 4) return;
      const v = Number(value & 0xffff_ffffn);
      if (off >= SGI_BASE) {
        const o = off - SGI_BASE;
        const bank = bankOf(o);
        if (bank !== undefined) {
          if (o === bank) writeBank(vic, vcpu, priv, bank, 0, v);
          return;
        }
        if (o === 0xc04) writeCfg(vic, vcpu, priv, 16, v);
        return;
      }
      if (off === 0x14) {
        vcpu.gic.sleep = (v & 2) !== 0;
      }
    },
  };
}
