// The root VM's boot environment: a CBOR map the hypervisor writes into RM memory at cold boot
// (spec §23 keys). The RM decodes it with `decodeBootEnv`.
import { cborDecode, cborEncode, CborError, type CborValue } from './cbor';

/** Every key coldBoot writes. Integers are exact 64-bit values. */
export interface BootEnv {
  cspace_capid: bigint;
  partition_capid: bigint;
  vcpu_capid: bigint;
  addrspace_capid: bigint;
  vic_capid: bigint;
  /** The root VM's own memory extent (basic, RWX), identity-mapped. */
  me_capid: bigint;
  me_ipa_base: bigint;
  me_size: bigint;
  /** IPA minus PA of the root VM's memory (0: identity). */
  ipa_offset: bigint;
  /** Root sparse extent holding the rest of RAM, for the RM to carve VMs from. */
  ddr_me_capid: bigint;
  ddr_me_base: bigint;
  ddr_me_size: bigint;
  /** Device memory extent (sparse, device type). */
  device_me_capid: bigint;
  device_me_base: bigint;
  device_me_size: bigint;
  gicd_base: bigint;
  gicr_base: bigint;
  gicr_stride: bigint;
  boot_core: bigint;
  /** Bitmap of the physical CPUs VMs may use. */
  usable_cores: bigint;
  hlos_vm_base: bigint;
  hlos_vm_size: bigint;
  hlos_dt_base: bigint;
  hlos_ramfs_base: bigint;
  entry_hlos: bigint;
  watchdog_supported: boolean;
  sve_supported: boolean;
  /** HW IRQ caps: [platform IRQ number, cap ID] pairs. */
  hwirqs: [bigint, bigint][];
  /** Platform extras (config.extraEnv), by key. */
  extra: Map<string, CborValue>;
}

const REQUIRED_U64: readonly (keyof BootEnv)[] = [
  'cspace_capid',
  'partition_capid',
  'vcpu_capid',
  'addrspace_capid',
  'vic_capid',
  'me_capid',
  'me_ipa_base',
  'me_size',
  'ipa_offset',
  'ddr_me_capid',
  'ddr_me_base',
  'ddr_me_size',
  'device_me_capid',
  'device_me_base',
  'device_me_size',
  'gicd_base',
  'gicr_base',
  'gicr_stride',
  'boot_core',
  'usable_cores',
  'hlos_vm_base',
  'hlos_vm_size',
  'hlos_dt_base',
  'hlos_ramfs_base',
  'entry_hlos',
];
const KNOWN = new Set<string>([...REQUIRED_U64, 'watchdog_supported', 'sve_supported', 'hwirqs', 'vic']);

/** Largest boot environment accepted (QCBOR_ENV_CONFIG_SIZE-like bound). */
export const BOOT_ENV_MAX = 16 * 1024;

export function encodeBootEnv(env: BootEnv): Uint8Array {
  const m = new Map<string, CborValue>();
  for (const k of REQUIRED_U64) m.set(k, env[k] as bigint);
  // Gunyah's own key for the VIC cap is "vic"; both are written.
  m.set('vic', env.vic_capid);
  m.set('watchdog_supported', env.watchdog_supported);
  m.set('sve_supported', env.sve_supported);
  m.set('hwirqs', env.hwirqs.map(([irq, cap]) => [irq, cap]));
  for (const [k, v] of env.extra) {
    if (KNOWN.has(k)) throw new RangeError(`extra boot env key "${k}" collides with a standard key`);
    m.set(k, v);
  }
  const out = cborEncode(m);
  if (out.length > BOOT_ENV_MAX) throw new RangeError(`boot environment of ${out.length} bytes exceeds ${BOOT_ENV_MAX}`);
  return out;
}

/** Decode a boot environment; a CborError (with the byte offset) for bad input, never a crash. */
export function decodeBootEnv(bytes: Uint8Array, offset = 0, length = bytes.length - offset): BootEnv {
  if (length > BOOT_ENV_MAX) throw new CborError(`boot environment of ${length} bytes exceeds ${BOOT_ENV_MAX}`, offset);
  const v = cborDecode(bytes, offset, length);
  if (!(v instanceof Map)) throw new CborError('boot environment is not a map', offset);
  const u64 = (k: string): bigint => {
    const x = v.get(k);
    if (typeof x !== 'bigint' || x < 0n) throw new CborError(`key "${k}" is missing or not an unsigned integer`, offset);
    return x;
  };
  const bool = (k: string): boolean => {
    const x = v.get(k);
    if (typeof x !== 'boolean') throw new CborError(`key "${k}" is missing or not a boolean`, offset);
    return x;
  };
  const env: Partial<BootEnv> = {};
  for (const k of REQUIRED_U64) (env as Record<string, unknown>)[k] = u64(k);
  env.watchdog_supported = bool('watchdog_supported');
  env.sve_supported = bool('sve_supported');
  const h = v.get('hwirqs');
  if (!Array.isArray(h)) throw new CborError('key "hwirqs" is missing or not an array', offset);
  env.hwirqs = h.map((p) => {
    if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== 'bigint' || typeof p[1] !== 'bigint') {
      throw new CborError('"hwirqs" entries must be [irq, capid] pairs', offset);
    }
    return [p[0], p[1]];
  });
  env.extra = new Map([...v].filter(([k]) => !KNOWN.has(k)));
  return env as BootEnv;
}
