// C struct layouts for ioctl arguments and wire messages: fields laid out with natural alignment (or
// packed), little-endian as on AArch64, with encode/decode between bytes and typed objects. 64-bit fields
// are bigint.
type Scalar = 'u8' | 'u16' | 'u32' | 'u64' | 's8' | 's16' | 's32' | 's64';

const SCALAR_SIZE: Record<Scalar, number> = { u8: 1, s8: 1, u16: 2, s16: 2, u32: 4, s32: 4, u64: 8, s64: 8 };

/** A field's type: a scalar, a fixed array of scalars, raw bytes, or a nested struct. */
export type FieldType = Scalar | { readonly array: Scalar; readonly length: number } | { readonly bytes: number } | StructLayout<any>;

export type FieldSpec = readonly [name: string, type: FieldType];

type ScalarValue<S extends Scalar> = S extends 'u64' | 's64' ? bigint : number;

/** The JS value of a field type. */
export type FieldValue<T> = T extends Scalar
  ? ScalarValue<T>
  : T extends { readonly array: infer S extends Scalar }
    ? ScalarValue<S>[]
    : T extends { readonly bytes: number }
      ? Uint8Array
      : T extends StructLayout<infer V>
        ? V
        : never;

/** The object type of a struct with these fields. */
export type StructValue<F extends readonly FieldSpec[]> = { [K in F[number] as K[0]]: FieldValue<K[1]> };

interface Placed {
  name: string;
  type: FieldType;
  offset: number;
  size: number;
}

function typeSize(t: FieldType): number {
  if (typeof t === 'string') return SCALAR_SIZE[t];
  if (t instanceof StructLayout) return t.size;
  if ('array' in t) return SCALAR_SIZE[t.array] * t.length;
  return t.bytes;
}

function typeAlign(t: FieldType): number {
  if (typeof t === 'string') return SCALAR_SIZE[t];
  if (t instanceof StructLayout) return t.align;
  if ('array' in t) return SCALAR_SIZE[t.array];
  return 1;
}

/** A bad value for a field (wrong type, out of range, wrong length). */
export class StructError extends Error {
  constructor(struct: string, field: string, message: string) {
    super(`struct ${struct}.${field}: ${message}`);
    this.name = 'StructError';
  }
}

export class StructLayout<V> {
  readonly size: number;
  readonly align: number;
  private readonly placed: Placed[];

  constructor(
    readonly name: string,
    fields: readonly FieldSpec[],
    readonly packed = false,
  ) {
    let off = 0;
    let align = 1;
    this.placed = [];
    const seen = new Set<string>();
    for (const [fname, type] of fields) {
      if (seen.has(fname)) throw new StructError(name, fname, 'duplicate field');
      seen.add(fname);
      const a = packed ? 1 : typeAlign(type);
      off = Math.ceil(off / a) * a;
      const size = typeSize(type);
      this.placed.push({ name: fname, type, offset: off, size });
      off += size;
      align = Math.max(align, a);
    }
    this.align = align;
    this.size = Math.ceil(off / align) * align;
  }

  offsetOf(field: keyof V & string): number {
    const f = this.placed.find((p) => p.name === field);
    if (!f) throw new StructError(this.name, field, 'no such field');
    return f.offset;
  }

  /** Field names, offsets and sizes (what pahole prints). */
  describe(): { name: string; offset: number; size: number }[] {
    return this.placed.map(({ name, offset, size }) => ({ name, offset, size }));
  }

  /** Bytes of the struct; omitted fields and padding are zero. */
  encode(value: Partial<V>, into?: Uint8Array): Uint8Array {
    const out = into ?? new Uint8Array(this.size);
    if (out.length < this.size) throw new StructError(this.name, '*', `buffer of ${out.length} bytes for a ${this.size}-byte struct`);
    out.fill(0, 0, this.size);
    const dv = new DataView(out.buffer, out.byteOffset, this.size);
    for (const f of this.placed) {
      const v = (value as Record<string, unknown>)[f.name];
      if (v === undefined) continue;
      this.put(dv, out, f, v);
    }
    return out;
  }

  private put(dv: DataView, out: Uint8Array, f: Placed, v: unknown): void {
    const t = f.type;
    if (typeof t === 'string') return putScalar(dv, f.offset, t, v, this.name, f.name);
    if (t instanceof StructLayout) {
      t.encode(v as object, out.subarray(f.offset, f.offset + t.size));
      return;
    }
    if ('array' in t) {
      if (!Array.isArray(v) || v.length !== t.length) throw new StructError(this.name, f.name, `expected ${t.length} elements`);
      const es = SCALAR_SIZE[t.array];
      v.forEach((x, i) => putScalar(dv, f.offset + i * es, t.array, x, this.name, `${f.name}[${i}]`));
      return;
    }
    if (!(v instanceof Uint8Array) || v.length > t.bytes) throw new StructError(this.name, f.name, `expected at most ${t.bytes} bytes`);
    out.set(v, f.offset);
  }

  /** The struct read from `bytes` (at least `size` long; EFAULT-style checks are the caller's). */
  decode(bytes: Uint8Array): V {
    if (bytes.length < this.size) throw new StructError(this.name, '*', `${bytes.length} bytes for a ${this.size}-byte struct`);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, this.size);
    const out: Record<string, unknown> = {};
    for (const f of this.placed) {
      const t = f.type;
      if (typeof t === 'string') out[f.name] = getScalar(dv, f.offset, t);
      else if (t instanceof StructLayout) out[f.name] = t.decode(bytes.subarray(f.offset, f.offset + t.size));
      else if ('array' in t) {
        const es = SCALAR_SIZE[t.array];
        out[f.name] = Array.from({ length: t.length }, (_, i) => getScalar(dv, f.offset + i * es, t.array));
      } else out[f.name] = bytes.slice(f.offset, f.offset + t.bytes);
    }
    return out as V;
  }
}

function putScalar(dv: DataView, off: number, t: Scalar, v: unknown, s: string, f: string): void {
  const bits = SCALAR_SIZE[t] * 8;
  const signed = t.startsWith('s');
  if (bits === 64) {
    if (typeof v !== 'bigint') throw new StructError(s, f, `expected a bigint, got ${typeof v}`);
    const min = signed ? -(1n << 63n) : 0n;
    const max = signed ? (1n << 63n) - 1n : (1n << 64n) - 1n;
    if (v < min || v > max) throw new StructError(s, f, `${v} out of range for ${t}`);
    dv.setBigUint64(off, BigInt.asUintN(64, v), true);
    return;
  }
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new StructError(s, f, `expected an integer, got ${String(v)}`);
  const min = signed ? -(2 ** (bits - 1)) : 0;
  const max = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
  if (v < min || v > max) throw new StructError(s, f, `${v} out of range for ${t}`);
  if (bits === 8) dv.setUint8(off, v & 0xff);
  else if (bits === 16) dv.setUint16(off, v & 0xffff, true);
  else dv.setUint32(off, v >>> 0, true);
}

function getScalar(dv: DataView, off: number, t: Scalar): number | bigint {
  switch (t) {
    case 'u8':
      return dv.getUint8(off);
    case 's8':
      return dv.getInt8(off);
    case 'u16':
      return dv.getUint16(off, true);
    case 's16':
      return dv.getInt16(off, true);
    case 'u32':
      return dv.getUint32(off, true);
    case 's32':
      return dv.getInt32(off, true);
    case 'u64':
      return dv.getBigUint64(off, true);
    case 's64':
      return dv.getBigInt64(off, true);
  }
}

/** Declare a C struct: `defineStruct('gh_vm_dtb_config', [['guest_phys_addr', 'u64'], ['size', 'u64']] as const)`. */
export function defineStruct<const F extends readonly FieldSpec[]>(name: string, fields: F, opts: { packed?: boolean } = {}): StructLayout<StructValue<F>> {
  return new StructLayout<StructValue<F>>(name, fields, opts.packed ?? false);
}
