// Allocation of SPI numbers in one virtual interrupt controller: the RM's own (from SPI 32) and the
// ones it picks in guest VICs (from 960, "qcom,free-irq-start", then downwards), spec §21.

/** First INTID of the SPIs, and one past the last (1019 is the last SPI; 988 in all). */
export const SPI_BASE = 32;
export const SPI_END = 1020;
/** Where the RM starts allocating VIRQs in a guest VIC (the HLOS's `qcom,free-irq-start`). */
export const GUEST_FREE_IRQ_START = 960;
/** Below this, a guest's SPIs belong to its own devices (mach-virt puts them at SPI 0..~63). */
export const GUEST_DEVICE_SPI_END = 128;

export class VirqAllocator {
  private readonly used = new Set<number>();

  /**
   * `order`: the INTIDs tried, first to last. The RM's own VIC counts up from SPI 32; a guest VIC
   * from 960 to 1019, then down from 959 to 128.
   */
  constructor(private readonly order: readonly number[]) {}

  static forRm(maxSpis = SPI_END - SPI_BASE): VirqAllocator {
    const o: number[] = [];
    for (let i = SPI_BASE; i < SPI_BASE + maxSpis && i < SPI_END; i++) o.push(i);
    return new VirqAllocator(o);
  }

  static forGuest(): VirqAllocator {
    const o: number[] = [];
    for (let i = GUEST_FREE_IRQ_START; i < SPI_END; i++) o.push(i);
    for (let i = GUEST_FREE_IRQ_START - 1; i >= GUEST_DEVICE_SPI_END; i--) o.push(i);
    return new VirqAllocator(o);
  }

  /** Take a specific INTID (a VIRQ the config names); false when taken or outside the pool. */
  reserve(virq: number): boolean {
    if (this.used.has(virq)) return false;
    this.used.add(virq);
    return true;
  }

  alloc(): number | undefined {
    for (const v of this.order) {
      if (!this.used.has(v)) {
        this.used.add(v);
        return v;
      }
    }
    return undefined;
  }

  free(virq: number): void {
    this.used.delete(virq);
  }

  get inUse(): number {
    return this.used.size;
  }
}
