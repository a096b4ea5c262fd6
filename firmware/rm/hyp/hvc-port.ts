// The register-level door to the hypervisor: SMCCC vendor-hyp hypercalls through a GuestCpu
// (function ID 0xC6008000 | N in x0, arguments in x1..x7; x0 is the error on return, results
// follow in x1..; spec §2). Everything the RM asks of the hypervisor passes through here.
import { Smccc, type GuestCpu } from '../../hypervisor';

/** Issues one hypercall: returns x0..x7 after the call (x0 = error_t as an unsigned register). */
export interface HvcPort {
  call(n: number, args: readonly bigint[]): Promise<readonly bigint[]>;
}

/** The real port: registers of the calling vCPU and `hvc #0`. */
export function cpuHvcPort(cpu: GuestCpu): HvcPort {
  return {
    async call(n, args) {
      if (args.length > 7) throw new RangeError(`hypercall 0x${n.toString(16)} with ${args.length} arguments (SMCCC passes at most 7)`);
      const x = cpu.x;
      x[0] = BigInt((Smccc.GUNYAH_HVC_BASE | n) >>> 0);
      for (let i = 0; i < 7; i++) x[i + 1] = i < args.length ? BigInt.asUintN(64, args[i]!) : 0n;
      await cpu.hvc(0);
      return [x[0]!, x[1]!, x[2]!, x[3]!, x[4]!, x[5]!, x[6]!, x[7]!];
    },
  };
}
