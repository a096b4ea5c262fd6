// Hypercall dispatch: the native `hvc #0x6000+N` path and the SMCCC conduit (vendor-hyp Gunyah calls
// 0xC6008000|N, vendor-hyp service calls, Arm architecture and standard-hypervisor calls, PSCI),
// reserved-argument checks and result register sanitising (spec §2; hyp/core/api, hyp/vm/smccc).
import { GhError } from '../abi/errors';
import { GUNYAH_UID, HVC_IMM_BASE, HVC_MAX, HYP_API_INFO, Smccc } from '../abi/hypercalls';
import type { Hypervisor } from '../hypervisor';
import { handlePsci } from '../vm/psci';
import type { Vcpu } from '../vm/vcpu';
import { coreCalls } from './hc-core';
import { ipcCalls } from './hc-ipc';
import { irqCalls } from './hc-irq';
import { memCalls } from './hc-mem';
import { vcpuCalls } from './hc-vcpu';
import { big, isOnes, isZero, setBig, setSigned, setWords, type Regs } from './regs';

/** A handler's result when the call blocked the vCPU; its outputs are written when it completes. */
export const BLOCKED = 0x7fff_ffff;

export type Handler = (hv: Hypervisor, v: Vcpu, r: Regs) => number;

export interface HvcEntry {
  readonly n: number;
  /** Input registers (x0.. in the native ABI). */
  readonly nIn: number;
  /** Input indices named res0 (must be zero) and res1 (must be all ones). */
  readonly res0?: readonly number[];
  readonly res1?: readonly number[];
  /** Output registers, x0 (the error) included. */
  readonly nOut: number;
  /** Outputs besides x0 are meaningful on error too (msgqueue send/receive). */
  readonly keepOutputs?: boolean;
  /** No error output: the handler writes x0 itself (hypervisor_identify). */
  readonly noError?: boolean;
  readonly fn: Handler;
}

const OWNER_ARCH = 0;
const OWNER_STANDARD = 4;
const OWNER_STANDARD_HYP = 5;
const OWNER_VENDOR_HYP = 6;

export class Dispatcher {
  private readonly table: (HvcEntry | undefined)[] = [];
  /** Scratch window for the SMCCC conduit, whose arguments start at x1. */
  private readonly window = new Uint32Array(16);
  /** Hypercalls dispatched (statistics). */
  count = 0;

  constructor(private readonly hv: Hypervisor) {
    for (const group of [coreCalls, ipcCalls, memCalls, vcpuCalls, irqCalls]) {
      for (const e of group) {
        if (this.table[e.n]) throw new Error(`hypercall 0x${e.n.toString(16)} defined twice`);
        this.table[e.n] = e;
      }
    }
  }

  /** Whether hypercall N is implemented (the README lists the rest). */
  implemented(n: number): boolean {
    return this.table[n] !== undefined;
  }

  /** A trap from `v` (`hvc #imm` or `smc #imm`). Returns false when the call blocked the vCPU. */
  trap(v: Vcpu, r: Regs, imm: number, smc: boolean): boolean {
    this.count++;
    if (smc) {
      if (imm !== 0) return this.unknown(r);
      return this.smccc(v, r, true);
    }
    if (imm === 0) return this.smccc(v, r, false);
    const n = imm - HVC_IMM_BASE;
    // Immediates outside 0x6000..0x6000+max are not Gunyah calls: the guest gets SMCCC "unknown".
    if (n < 0 || n > HVC_MAX) return this.unknown(r);
    return this.native(v, r, n);
  }

  private unknown(r: Regs): boolean {
    setSigned(r, 0, Smccc.UNKNOWN_FUNCTION);
    return true;
  }

  /** Native ABI: arguments x0..x7, outputs x0..x7, res0/res1 checked, unused outputs zeroed. */
  private native(v: Vcpu, r: Regs, n: number): boolean {
    const e = this.table[n];
    const hv = this.hv;
    if (!e) {
      // A gap in the table: UNIMPLEMENTED, x1.. sanitised.
      setSigned(r, 0, GhError.UNIMPLEMENTED);
      for (let i = 2; i < 16; i++) r[i] = 0;
      return true;
    }
    const args = hv.trace.enabled ? captureArgs(r, e.nIn) : undefined;
    let code: number = GhError.OK;
    if (e.res0) for (const i of e.res0) if (!isZero(r, i)) code = GhError.ARGUMENT_INVALID;
    if (e.res1) for (const i of e.res1) if (!isOnes(r, i)) code = GhError.ARGUMENT_INVALID;
    if (code === GhError.OK) {
      code = e.fn(hv, v, r);
      if (code === BLOCKED) {
        if (args) hv.trace.hvc(v, hv.localNow(), n, args, GhError.OK);
        return false;
      }
    }
    if (!e.noError) {
      setSigned(r, 0, code);
      if (code !== GhError.OK && !e.keepOutputs) for (let i = 2; i < 2 * e.nOut; i++) r[i] = 0;
    }
    for (let i = 2 * e.nOut; i < 16; i++) r[i] = 0;
    if (args) hv.trace.hvc(v, hv.localNow(), n, args, e.noError ? GhError.OK : code);
    return true;
  }

  /** The SMCCC conduit: function ID in w0. */
  private smccc(v: Vcpu, r: Regs, viaSmc: boolean): boolean {
    const fid = r[0]!;
    const fast = (fid & 0x8000_0000) !== 0;
    const smc64 = (fid & 0x4000_0000) !== 0;
    const owner = (fid >>> 24) & 0x3f;
    const func = fid & 0xffff;
    const hv = this.hv;
    switch (owner) {
      case OWNER_ARCH:
        return this.arch(r, fid);
      case OWNER_STANDARD: {
        // PSCI, for vCPUs in a VPM group; otherwise the call falls through as unknown.
        if (!v.vpm) return this.unknown(r);
        const res = handlePsci(hv, v, r, fid);
        if (hv.trace.enabled) hv.trace.smccc(v, hv.localNow(), fid, big(r, 0));
        return res;
      }
      case OWNER_STANDARD_HYP:
        if (viaSmc) return this.unknown(r);
        if (fid === Smccc.STD_HYP_CALL_UID) {
          for (let i = 0; i < 4; i++) setWords(r, i, GUNYAH_UID[i]!, 0);
          return true;
        }
        if (fid === Smccc.STD_HYP_REVISION) {
          setWords(r, 0, 1, 0);
          setWords(r, 1, 0, 0);
          return true;
        }
        return this.unknown(r);
      case OWNER_VENDOR_HYP: {
        if (viaSmc) return this.unknown(r);
        const cls = (func >>> 14) & 3;
        if (cls === 2) {
          if (!fast || !smc64) return this.unknown(r);
          return this.vendorHypercall(v, r, func & 0x3fff);
        }
        if (cls === 3) {
          if (!fast || smc64) return this.unknown(r);
          if ((func & 0x3fff) === 0x3f01) {
            for (let i = 0; i < 4; i++) setWords(r, i, GUNYAH_UID[i]!, 0);
            return true;
          }
          if ((func & 0x3fff) === 0x3f03) {
            setBig(r, 0, HYP_API_INFO);
            return true;
          }
        }
        return this.unknown(r);
      }
      default:
        return this.unknown(r);
    }
  }

  /** Arm architecture calls: SMCCC_VERSION and SMCCC_ARCH_FEATURES. */
  private arch(r: Regs, fid: number): boolean {
    if (fid === Smccc.VERSION) {
      setWords(r, 0, Smccc.VERSION_1_3, 0);
      return true;
    }
    if (fid === Smccc.ARCH_FEATURES) {
      const q = r[2]!;
      const qOwner = (q >>> 24) & 0x3f;
      const qFast = (q & 0x8000_0000) !== 0;
      const qRes0 = (q >>> 16) & 0xff;
      let res: number = Smccc.NOT_SUPPORTED;
      if (qFast && qRes0 === 0) {
        if (qOwner === OWNER_ARCH && (q === Smccc.VERSION || q === Smccc.ARCH_FEATURES)) res = 0;
        else if (qOwner === OWNER_STANDARD_HYP && (q === Smccc.STD_HYP_CALL_UID || q === Smccc.STD_HYP_REVISION)) res = 0;
      }
      setSigned(r, 0, res);
      return true;
    }
    return this.unknown(r);
  }

  /** Gunyah hypercall N through SMCCC: arguments from x1, outputs from x0, no reserved checks. */
  private vendorHypercall(v: Vcpu, r: Regs, n: number): boolean {
    const e = n <= HVC_MAX ? this.table[n] : undefined;
    const hv = this.hv;
    if (!e) {
      setSigned(r, 0, GhError.UNIMPLEMENTED);
      return true;
    }
    const w = this.window;
    w.set(r.subarray(2, 16));
    w[14] = 0;
    w[15] = 0;
    const args = hv.trace.enabled ? captureArgs(w, e.nIn) : undefined;
    const code = e.fn(hv, v, w);
    if (code === BLOCKED) return false;
    if (!e.noError) {
      setSigned(w, 0, code);
      if (code !== GhError.OK && !e.keepOutputs) for (let i = 2; i < 2 * e.nOut; i++) w[i] = 0;
    }
    r.set(w.subarray(0, 2 * e.nOut));
    if (args) hv.trace.hvc(v, hv.localNow(), n, args, e.noError ? GhError.OK : code);
    return true;
  }

  /** Dispatch on a bare register array (benchmarks of the synchronous core; no trap cost). */
  callNative(v: Vcpu, r: Regs, n: number): boolean {
    const hv = this.hv;
    hv.cur = v;
    try {
      return this.native(v, r, n);
    } finally {
      hv.cur = null;
    }
  }
}

function captureArgs(r: Regs, n: number): bigint[] {
  const a: bigint[] = [];
  for (let i = 0; i < n; i++) a.push(big(r, i));
  return a;
}
