// Where examples/guests/mmio-bench leaves its samples for the host, and the header's magic.
export const MMIO_BENCH_MAGIC = 0x4d4d_4230;
/** The results start this far below the top of the guest's RAM (clear of the DTB region at the top). */
export const MMIO_BENCH_RESULTS_BELOW = 0x10_0000n;
