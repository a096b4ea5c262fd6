// PSCI 1.1 over SMCCC (DEN0022): function IDs, return codes, and the calls the kernel makes. The conduit
// (hvc or smc) comes from the DT /psci node's `method`.
import { SmcccConduit } from './smccc';

export const PSCI_FN = {
  VERSION: 0x84000000,
  CPU_SUSPEND: 0xc4000001,
  CPU_OFF: 0x84000002,
  CPU_ON: 0xc4000003,
  AFFINITY_INFO: 0xc4000004,
  MIGRATE_INFO_TYPE: 0x84000006,
  SYSTEM_OFF: 0x84000008,
  SYSTEM_RESET: 0x84000009,
  FEATURES: 0x8400000a,
  CPU_DEFAULT_SUSPEND: 0xc400000c,
  SYSTEM_RESET2: 0xc4000012,
} as const;

export const PSCI_RET = {
  SUCCESS: 0,
  NOT_SUPPORTED: -1,
  INVALID_PARAMETERS: -2,
  DENIED: -3,
  ALREADY_ON: -4,
  ON_PENDING: -5,
  INTERNAL_FAILURE: -6,
  NOT_PRESENT: -7,
  DISABLED: -8,
  INVALID_ADDRESS: -9,
} as const;

const retNames = new Map<number, string>(Object.entries(PSCI_RET).map(([k, v]) => [v, k]));

export class PsciError extends Error {
  constructor(
    readonly code: number,
    readonly call: string,
  ) {
    super(`PSCI ${call}: ${retNames.get(code) ?? 'UNKNOWN'} (${code})`);
    this.name = 'PsciError';
  }
}

/** AFFINITY_INFO results. */
export const PSCI_AFFINITY = { ON: 0, OFF: 1, ON_PENDING: 2 } as const;

export class Psci {
  constructor(readonly conduit: SmcccConduit) {}

  private async call(name: keyof typeof PSCI_FN, args: bigint[] = []): Promise<number> {
    const [x0] = await this.conduit.call(PSCI_FN[name], args);
    return Number(BigInt.asIntN(32, x0!));
  }

  private async checked(name: keyof typeof PSCI_FN, args: bigint[] = []): Promise<number> {
    const r = await this.call(name, args);
    if (r < 0) throw new PsciError(r, name);
    return r;
  }

  /** { major, minor }. */
  async version(): Promise<{ major: number; minor: number }> {
    const v = (await this.checked('VERSION')) >>> 0;
    return { major: v >>> 16, minor: v & 0xffff };
  }

  /** Power `targetMpidr` on at `entry` with x0 = `contextId`. */
  async cpuOn(targetMpidr: bigint, entry: bigint, contextId: bigint): Promise<void> {
    await this.checked('CPU_ON', [targetMpidr, entry, contextId]);
  }

  /** Returns only on failure (DENIED when this is the last CPU). */
  async cpuOff(): Promise<void> {
    await this.checked('CPU_OFF');
  }

  async affinityInfo(targetMpidr: bigint, lowestAffinityLevel = 0): Promise<number> {
    return this.checked('AFFINITY_INFO', [targetMpidr, BigInt(lowestAffinityLevel)]);
  }

  /** SUCCESS-or-flags when `fid` is implemented, else NOT_SUPPORTED (as data). */
  features(fid: number): Promise<number> {
    return this.call('FEATURES', [BigInt(fid)]);
  }

  async systemOff(): Promise<void> {
    await this.checked('SYSTEM_OFF');
  }

  async systemReset(): Promise<void> {
    await this.checked('SYSTEM_RESET');
  }

  async systemReset2(resetType: number, cookie: bigint): Promise<void> {
    await this.checked('SYSTEM_RESET2', [BigInt(resetType >>> 0), cookie]);
  }

  async cpuSuspend(powerState: number, entry: bigint, contextId: bigint): Promise<void> {
    await this.checked('CPU_SUSPEND', [BigInt(powerState >>> 0), entry, contextId]);
  }
}
