// The SMCCC conduit: function ID in x0, arguments in x1..x17, results in x0..x7 (SMCCC 1.2). One call
// at a time per vCPU: the register file is the vCPU's, so concurrent kernel tasks on the same vCPU take
// turns (as threads on one CPU would), and the turn is handed over without an extra await when free.
import type { Cpu } from './cpu';

/** SMCCC's "unknown function" return (SMCCC_RET_NOT_SUPPORTED). */
export const SMCCC_RET_NOT_SUPPORTED = -1n;

/** Highest argument register SMCCC 1.2 uses; every unused one up to it is zeroed (reserved = 0). */
const MAX_ARG_REG = 17;

export type Conduit = 'hvc' | 'smc';

export class SmcccConduit {
  private busy = false;
  private readonly waiters: (() => void)[] = [];

  constructor(
    readonly cpu: Cpu,
    readonly conduit: Conduit = 'hvc',
  ) {}

  /**
   * Make one SMCCC call. `args` go to x1.., every other argument register is zeroed. Returns x0..x7
   * (x0 is the status; callers interpret its sign).
   */
  async call(fid: number | bigint, args: readonly bigint[] = []): Promise<bigint[]> {
    if (args.length > MAX_ARG_REG) throw new RangeError(`SMCCC call with ${args.length} arguments (max ${MAX_ARG_REG})`);
    if (this.busy) await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.busy = true;
    try {
      const x = this.cpu.x;
      x[0] = BigInt(fid);
      for (let i = 1; i <= MAX_ARG_REG; i++) x[i] = i <= args.length ? BigInt.asUintN(64, args[i - 1]!) : 0n;
      if (this.conduit === 'hvc') await this.cpu.hvc(0);
      else await this.cpu.smc(0);
      return [x[0]!, x[1]!, x[2]!, x[3]!, x[4]!, x[5]!, x[6]!, x[7]!];
    } finally {
      const next = this.waiters.shift();
      if (next) next();
      else this.busy = false;
    }
  }
}
