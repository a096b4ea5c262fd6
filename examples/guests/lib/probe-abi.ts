// What the probe guest (probe.ts) reports and where: shared by the guest and the tests that read it.

/** Report address: 8-byte writes of tag << 32 | value (a VMMIO address nobody claims). */
export const PROBE_REPORT = 0x0a00_0000n;
/** Where `probe.ioevent` writes. */
export const PROBE_IOEVENT = 0x0a00_1000n;
export const PROBE_TAG = { ENTRY: 1, IRQ: 2, DONE: 3, X0: 0x10, X1: 0x11, X2: 0x12, X3: 0x13 } as const;
