// The machine's decoder for "GYTS" guest images (image-format.ts): given the PC a vCPU enters at, it
// fetches the image through the VM's stage 2, checks header, entry table and CRC, and returns the
// named entry of the program. The program is instantiated once per VM instance (every vCPU of a VM
// shares one module, so a guest kernel's state is shared between its CPUs; a new VM, even on the same
// pages, gets a fresh one), and the compiled code is cached per program text.
//
// A corrupted image of ours (magic present, anything else wrong) resolves to an entry that throws the
// ImageError: the vCPU faults with that reason. Code at an address that is not an image is "not ours"
// (undefined) and the machine faults the vCPU with "no code at PC".
import type { GuestCpu } from '../guest-cpu';
import type { DecodeContext, GuestEntry, ImageDecoder } from '../machine/machine';
import {
  IMAGE_CODE0,
  IMAGE_ENTRY_SIZE,
  IMAGE_HEADER_SIZE,
  IMAGE_MAX_ENTRIES,
  ImageError,
  decodeProgramText,
  entryOffset,
  hasImageMagic,
  parseEntryTable,
  parseImageHeader,
  type ImageHeader,
} from './image-format';

/** What an entry function learns about its image (like a PC-relative `adr` to its own symbols). */
export interface GuestImage {
  /** IPA of the image base (the main entry). */
  readonly base: bigint;
  /** Bytes of the image (image_size). */
  readonly size: bigint;
  /** Entry names in table order ("main" first). */
  readonly entries: readonly string[];
  /** IPA of a named entry point (for PSCI CPU_ON); throws for a name the image does not have. */
  entry(name: string): bigint;
}

/** The signature of a program's entry functions. */
export type GuestProgramEntry = (cpu: GuestCpu, image: GuestImage) => void | Promise<void>;

interface Instance {
  crc: number;
  size: number;
  exports: Record<string, unknown>;
  image: GuestImage;
}

/** Compiled programs kept (least recently used dropped first). */
export const COMPILE_CACHE_SIZE = 32;

type CompiledProgram = (module: { exports: unknown }, exports: unknown, require: (id: string) => never) => void;

const compiled = new Map<string, CompiledProgram>();
/** Per VM instance (its address space object): the programs instantiated in it, by image base. */
const instances = new WeakMap<object, Map<bigint, Instance>>();

/** Counters for tests and benchmarks. */
export const imageDecoderStats = { compiles: 0, instantiations: 0, decodes: 0, failures: 0 };

function compile(text: string): CompiledProgram {
  const hit = compiled.get(text);
  if (hit) {
    compiled.delete(text);
    compiled.set(text, hit);
    return hit;
  }
  let fn: CompiledProgram;
  try {
    fn = new Function('module', 'exports', 'require', text) as CompiledProgram;
  } catch (e) {
    throw new ImageError('program', `program text does not compile: ${e instanceof Error ? e.message : String(e)}`);
  }
  imageDecoderStats.compiles++;
  compiled.set(text, fn);
  if (compiled.size > COMPILE_CACHE_SIZE) compiled.delete(compiled.keys().next().value!);
  return fn;
}

/** Guest programs run without a module system: any require is a bundling mistake. */
const noRequire = (id: string): never => {
  throw new ImageError('program', `guest programs cannot require ${JSON.stringify(id)} (bundle it, or stub it out)`);
};

function fetchOrThrow(ctx: DecodeContext, ipa: bigint, into: Uint8Array, what: string): void {
  if (!ctx.fetch(ipa, into)) throw new ImageError('truncated', `${what} at IPA 0x${ipa.toString(16)} (+${into.length}) is not mapped executable`);
}

function instantiate(ctx: DecodeContext, base: bigint, h: ImageHeader): Instance {
  const whole = new Uint8Array(h.imageSize);
  fetchOrThrow(ctx, base, whole, 'the image');
  const entries = parseEntryTable(whole, h);
  const text = decodeProgramText(whole.subarray(h.textOffset), h);
  const fn = compile(text);
  const module = { exports: {} as unknown };
  try {
    fn(module, module.exports, noRequire);
  } catch (e) {
    if (e instanceof ImageError) throw e;
    throw new ImageError('program', `program initialisation threw: ${e instanceof Error ? e.message : String(e)}`);
  }
  imageDecoderStats.instantiations++;
  const exp = module.exports;
  if (exp === null || (typeof exp !== 'object' && typeof exp !== 'function')) throw new ImageError('program', 'module.exports is not an object');
  const names = entries.map((e) => e.name);
  const image: GuestImage = {
    base,
    size: BigInt(h.imageSize),
    entries: names,
    entry(name: string): bigint {
      const i = names.indexOf(name);
      if (i < 0) throw new ImageError('program', `the image has no entry ${JSON.stringify(name)}`);
      return base + BigInt(entryOffset(i));
    },
  };
  return { crc: h.textCrc32, size: h.imageSize, exports: exp as Record<string, unknown>, image };
}

function resolve(ctx: DecodeContext): GuestEntry | undefined {
  const pc = ctx.ipa;
  const word = new Uint8Array(4);
  if (!ctx.fetch(pc, word)) return undefined;
  const w = new DataView(word.buffer).getUint32(0, true);
  let index: number;
  if (w === IMAGE_CODE0) index = 0;
  else {
    // An entry descriptor holds its own offset from the base; anything else is not one of ours.
    if (w < IMAGE_HEADER_SIZE + IMAGE_ENTRY_SIZE || (w - IMAGE_HEADER_SIZE) % IMAGE_ENTRY_SIZE !== 0) return undefined;
    index = (w - IMAGE_HEADER_SIZE) / IMAGE_ENTRY_SIZE;
    if (index >= IMAGE_MAX_ENTRIES) return undefined;
  }
  const base = pc - BigInt(entryOffset(index));
  if (base < 0n) return undefined;
  const header = new Uint8Array(IMAGE_HEADER_SIZE);
  if (!ctx.fetch(base, header) || !hasImageMagic(header)) return undefined;
  imageDecoderStats.decodes++;
  try {
    const h = parseImageHeader(header);
    if (h.kind !== 'guest') throw new ImageError('header', `the image at IPA 0x${base.toString(16)} is a ${h.kind} image: the hypervisor loads it, a vCPU cannot run it`);
    if (index >= h.entryCount) throw new ImageError('entry', `PC 0x${pc.toString(16)} is descriptor ${index} of a ${h.entryCount}-entry table`);
    // The descriptor (and its name) as it is now, even when the program is already instantiated.
    const desc = new Uint8Array(IMAGE_ENTRY_SIZE);
    fetchOrThrow(ctx, base + BigInt(IMAGE_HEADER_SIZE + IMAGE_ENTRY_SIZE * index), desc, 'the entry descriptor');
    let perVm = instances.get(ctx.vm);
    if (!perVm) instances.set(ctx.vm, (perVm = new Map()));
    let inst = perVm.get(base);
    // Once instantiated, the text is not fetched again (like an I-cache), unless the header changed.
    if (!inst || inst.crc !== h.textCrc32 || inst.size !== h.imageSize) {
      inst = instantiate(ctx, base, h);
      perVm.set(base, inst);
    }
    const name = inst.image.entries[index]!;
    const d = new DataView(desc.buffer);
    const descName = String.fromCharCode(...desc.subarray(4, 4 + name.length));
    if (d.getUint32(0, true) !== entryOffset(index) || descName !== name || desc[4 + name.length] !== 0) {
      throw new ImageError('entry', `entry descriptor ${index} changed since the program was loaded`);
    }
    const fn = inst.exports[name];
    if (typeof fn !== 'function') throw new ImageError('program', `entry ${JSON.stringify(name)} is not a function of the program`);
    const image = inst.image;
    return (cpu: GuestCpu) => (fn as GuestProgramEntry)(cpu, image);
  } catch (e) {
    imageDecoderStats.failures++;
    const err = e instanceof ImageError ? e : new ImageError('program', e instanceof Error ? e.message : String(e));
    return () => {
      throw err;
    };
  }
}

/** The decoder to register with `Machine.addImageDecoder` (the Hypervisor registers it). */
export const guestImageDecoder: ImageDecoder = (_pa, _mem, ctx) => (ctx ? resolve(ctx) : undefined);
