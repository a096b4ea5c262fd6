// GICv3 distributor and redistributor register offsets and bits (Arm IHI 0069, GICv3/v4 architecture
// specification, chapter 12), as the gic-v3 driver programs them.

export const GICD = {
  CTLR: 0x0000,
  TYPER: 0x0004,
  IIDR: 0x0008,
  IGROUPR: 0x0080,
  ISENABLER: 0x0100,
  ICENABLER: 0x0180,
  ISPENDR: 0x0200,
  ICPENDR: 0x0280,
  ISACTIVER: 0x0300,
  ICACTIVER: 0x0380,
  IPRIORITYR: 0x0400,
  ICFGR: 0x0c00,
  IGRPMODR: 0x0d00,
  // Extended SPI range (INTIDs 4096..5119).
  IGROUPRnE: 0x1000,
  ISENABLERnE: 0x1200,
  ICENABLERnE: 0x1400,
  ICACTIVERnE: 0x1c00,
  IPRIORITYRnE: 0x2000,
  ICFGRnE: 0x3000,
  IROUTER: 0x6000,
  IROUTERnE: 0x8000,
  PIDR2: 0xffe8,
} as const;

export const GICD_CTLR_RWP = 1 << 31;
export const GICD_CTLR_ARE_NS = 1 << 4;
export const GICD_CTLR_ENABLE_G1A = 1 << 1;
export const GICD_CTLR_ENABLE_G1 = 1 << 0;
export const GICD_TYPER_ESPI = 1 << 8;

/** GICD_TYPER.ITLinesNumber: the distributor implements 32 * (N + 1) INTIDs (capped at 1020). */
export function gicdLines(typer: number): number {
  return Math.min(32 * ((typer & 0x1f) + 1), 1020);
}

/** GICD_TYPER.ESPI_range: 32 * (N + 1) extended SPIs. */
export function gicdEspiLines(typer: number): number {
  return typer & GICD_TYPER_ESPI ? 32 * (((typer >>> 27) & 0x1f) + 1) : 0;
}

/** Redistributor RD_base frame. */
export const GICR = {
  CTLR: 0x0000,
  IIDR: 0x0004,
  TYPER: 0x0008,
  WAKER: 0x0014,
} as const;

/** Offset of the SGI_base frame from RD_base. */
export const GICR_SGI_BASE = 0x10000;

/** SGI_base frame. */
export const GICR_SGI = {
  IGROUPR0: 0x0080,
  ISENABLER0: 0x0100,
  ICENABLER0: 0x0180,
  ICACTIVER0: 0x0380,
  IPRIORITYR: 0x0400,
  ICFGR0: 0x0c00,
  ICFGR1: 0x0c04,
} as const;

export const GICR_TYPER_LAST = 1n << 4n;
export const GICR_TYPER_VLPIS = 1n << 1n;
export const GICR_WAKER_PROCESSOR_SLEEP = 1 << 1;
export const GICR_WAKER_CHILDREN_ASLEEP = 1 << 2;

/** RD_base + SGI_base: 128 KiB per redistributor (GICv3); 256 KiB with GICv4 VLPI frames. */
export const GICR_STRIDE_V3 = 0x20000n;
export const GICR_STRIDE_V4 = 0x40000n;

/** Linux's default interrupt priority (GICD_INT_DEF_PRI). */
export const GIC_DEFAULT_PRIORITY = 0xa0;

/** INTID ranges. */
export const INTID = {
  SGI_END: 16,
  PPI_END: 32,
  SPI_END: 1020,
  EPPI_BASE: 1056,
  EPPI_END: 1120,
  ESPI_BASE: 4096,
  ESPI_END: 5120,
} as const;

/** DT specifier type cell (dt-bindings/interrupt-controller/arm-gic.h and GICv3 binding). */
export const GIC_SPI = 0;
export const GIC_PPI = 1;
export const GIC_ESPI = 2;
export const GIC_EPPI = 3;
