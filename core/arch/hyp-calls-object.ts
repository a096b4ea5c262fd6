// Typed wrappers: identification, partitions, objects, cspaces, trace and PRNG (spec §3, §6).
import { HypercallInvoker, type CapId } from './hypercall-abi';

/** All-ones: the value of an argument the API names `res1`. */
export const RES1 = (1n << 64n) - 1n;

export interface HypIdentity {
  /** hyp_api_info: bits 13:0 API version, 14 big-endian, 15 64-bit, 63:56 variant. */
  apiInfo: bigint;
  apiVersion: number;
  bigEndian: boolean;
  is64Bit: boolean;
  variant: number;
  flags: [bigint, bigint, bigint];
}

/** Object kinds `partition_create_*` can make. */
export type CreatableObject =
  | 'partition'
  | 'cspace'
  | 'addrspace'
  | 'memextent'
  | 'thread'
  | 'doorbell'
  | 'msgqueue'
  | 'watchdog'
  | 'vic'
  | 'vpm_group'
  | 'virtio_mmio';

export class HypObjectCalls {
  constructor(private readonly h: HypercallInvoker) {}

  /** hypervisor_identify. Unlike every other call, x0 carries a result (api_info), not an error. */
  async identify(): Promise<HypIdentity> {
    const x = await this.h.conduit.call(0xc6008000, []);
    const info = x[0]!;
    return {
      apiInfo: info,
      apiVersion: Number(info & 0x3fffn),
      bigEndian: ((info >> 14n) & 1n) === 1n,
      is64Bit: ((info >> 15n) & 1n) === 1n,
      variant: Number(info >> 56n),
      flags: [x[1]!, x[2]!, x[3]!],
    };
  }

  /** partition_create_<kind>(partition, cspace) -> new master cap in `cspace`. */
  async create(kind: CreatableObject, partition: CapId, cspace: CapId): Promise<CapId> {
    const [cap] = await this.h.checked(`partition_create_${kind}`, [partition, cspace]);
    return cap!;
  }

  activate(cap: CapId): Promise<unknown> {
    return this.h.checked('object_activate', [cap]);
  }

  activateFrom(cspace: CapId, cap: CapId): Promise<unknown> {
    return this.h.checked('object_activate_from', [cspace, cap]);
  }

  /** Always GH_ERROR_UNIMPLEMENTED in the hypervisor; wrapped for completeness. */
  reset(cap: CapId): Promise<unknown> {
    return this.h.checked('object_reset', [cap]);
  }

  resetFrom(cspace: CapId, cap: CapId): Promise<unknown> {
    return this.h.checked('object_reset_from', [cspace, cap]);
  }

  // ---- cspaces ----

  cspaceDeleteCapFrom(cspace: CapId, cap: CapId): Promise<unknown> {
    return this.h.checked('cspace_delete_cap_from', [cspace, cap]);
  }

  async cspaceCopyCapFrom(srcCspace: CapId, srcCap: CapId, dstCspace: CapId, rightsMask: number): Promise<CapId> {
    const [cap] = await this.h.checked('cspace_copy_cap_from', [srcCspace, srcCap, dstCspace, BigInt(rightsMask >>> 0)]);
    return cap!;
  }

  cspaceRevokeCapFrom(cspace: CapId, cap: CapId): Promise<unknown> {
    return this.h.checked('cspace_revoke_cap_from', [cspace, cap]);
  }

  cspaceRevokeCapsFrom(cspace: CapId, masterCap: CapId): Promise<unknown> {
    return this.h.checked('cspace_revoke_caps_from', [cspace, masterCap]);
  }

  cspaceConfigure(cspace: CapId, maxCaps: number): Promise<unknown> {
    return this.h.checked('cspace_configure', [cspace, BigInt(maxCaps)]);
  }

  cspaceAttachThread(cspace: CapId, thread: CapId): Promise<unknown> {
    return this.h.checked('cspace_attach_thread', [cspace, thread]);
  }

  // ---- trace, prng ----

  /** Returns the class flags after the update. */
  async traceUpdateClassFlags(set: bigint, clear: bigint): Promise<bigint> {
    const [flags] = await this.h.checked('trace_update_class_flags', [set, clear]);
    return flags!;
  }

  /** Up to 16 bytes of entropy (GH_ERROR_BUSY when rate-limited). */
  async prngGetEntropy(numBytes: number): Promise<Uint8Array> {
    if (!Number.isInteger(numBytes) || numBytes < 1 || numBytes > 16) {
      throw new RangeError(`prng_get_entropy: ${numBytes} bytes (1..16)`);
    }
    const out = await this.h.checked('prng_get_entropy', [BigInt(numBytes)]);
    const bytes = new Uint8Array(16);
    const dv = new DataView(bytes.buffer);
    for (let i = 0; i < 4; i++) dv.setUint32(i * 4, Number(out[i]! & 0xffffffffn), true);
    return bytes.subarray(0, numBytes);
  }
}
