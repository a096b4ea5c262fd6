// The guest image format ("GYTS" images): what the VMM copies into a VM's memory and a vCPU executes
// from there. Modelled on the arm64 Linux Image header (Documentation/arch/arm64/booting.rst): a
// 64-byte little-endian header at the image base whose first word is a branch over the header and
// whose magic sits at offset 56, then a table of named entry points, then the program.
//
//   off  size  field
//     0     4  code0        0x14000010, AArch64 "b #0x40" (branch over the header, as arm64's code0)
//     4     4  code1        0
//     8     8  text_offset  offset of the program text from the image base
//    16     8  image_size   bytes the loader must copy (text_offset + text_size)
//    24     8  flags        bit 0 IMAGE_FLAG_NATIVE_APP: a native app (entry 0 "app"), not a guest
//    32     4  text_size    bytes of program text
//    36     4  text_crc32   CRC-32 (IEEE) of the program text
//    40     4  entry_count  descriptors in the entry table (1..64)
//    44     4  reserved     0
//    48     8  reserved     0
//    56     4  magic        the ASCII bytes "GYTS" (0x53545947 read little-endian)
//    60     4  version      1
//    64  32*n  entry table  {u32 entry offset from the base, char name[28] NUL-padded}
//
// A native-app image (flag bit 0) carries a device emulator the hypervisor loads into itself
// (placement A, firmware/hypervisor/native-app): its entry 0 is "app", the function the hypervisor
// calls with function codes, and no vCPU may boot it. Every other flag bit is reserved (refused).
//
// Entry 0 of a guest image is "main" and its address is the image base itself (its offset field is 0): the boot vCPU
// starts there. Entry i > 0 lives at its own descriptor (base + 64 + 32*i, offset field = that
// offset), so an entry point handed to PSCI CPU_ON is a real address inside the image and the code
// at an address can be found from the address alone. The program text is UTF-8 JavaScript: a
// CommonJS bundle (esbuild, platform neutral, no Node built-ins) that sets `module.exports` to an
// object of entry functions keyed by name, each called as `fn(cpu, image)`.
import { crc32 } from './crc32';

export const IMAGE_CODE0 = 0x1400_0010;
/** "GYTS" as a little-endian u32. */
export const IMAGE_MAGIC = 0x5354_5947;
export const IMAGE_VERSION = 1;
/** flags bit 0: the image is a native app for the hypervisor, not a guest. */
export const IMAGE_FLAG_NATIVE_APP = 1n;
/** What an image is: a guest program (entry 0 "main") or a native app (entry 0 "app"). */
export type ImageKind = 'guest' | 'native-app';
/** The name entry 0 must have in an image of each kind. */
export const IMAGE_ENTRY0: Record<ImageKind, string> = { guest: 'main', 'native-app': 'app' };
export const IMAGE_HEADER_SIZE = 64;
export const IMAGE_ENTRY_SIZE = 32;
export const IMAGE_NAME_SIZE = 28;
/** Entries per image (a bound on the table a decoder reads). */
export const IMAGE_MAX_ENTRIES = 64;
/** Largest program text accepted (bounds what a decoder reads from guest memory). */
export const IMAGE_MAX_TEXT = 32 * 1024 * 1024;
/** Entry names are JavaScript identifiers of at most 27 ASCII characters (one NUL at least). */
const NAME_RE = /^[A-Za-z_$][A-Za-z0-9_$]{0,26}$/;

export const HeaderOffset = {
  CODE0: 0,
  CODE1: 4,
  TEXT_OFFSET: 8,
  IMAGE_SIZE: 16,
  FLAGS: 24,
  TEXT_SIZE: 32,
  TEXT_CRC32: 36,
  ENTRY_COUNT: 40,
  RESERVED0: 44,
  RESERVED1: 48,
  MAGIC: 56,
  VERSION: 60,
} as const;

export type ImageErrorCode = 'truncated' | 'magic' | 'version' | 'header' | 'entry' | 'crc' | 'text' | 'program';

/** A malformed or corrupted image (or a program that does not provide the entry asked for). */
export class ImageError extends Error {
  constructor(
    readonly code: ImageErrorCode,
    message: string,
  ) {
    super(`guest image: ${message}`);
    this.name = 'ImageError';
  }
}

export interface ImageHeader {
  kind: ImageKind;
  textOffset: number;
  imageSize: number;
  textSize: number;
  textCrc32: number;
  entryCount: number;
}

export interface ImageEntry {
  name: string;
  /** Offset of the entry point from the image base (0 for main). */
  offset: number;
}

/** Offset from the image base of entry `i` (0 for main, else its descriptor). */
export function entryOffset(i: number): number {
  return i === 0 ? 0 : IMAGE_HEADER_SIZE + IMAGE_ENTRY_SIZE * i;
}

const u64 = (dv: DataView, off: number, what: string): number => {
  const v = dv.getBigUint64(off, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ImageError('header', `${what} 0x${v.toString(16)} is out of range`);
  return Number(v);
};

/** Whether the 64 bytes at `bytes[0..]` carry the image magic (the decoder's "is this ours?"). */
export function hasImageMagic(header: Uint8Array): boolean {
  return header.length >= IMAGE_HEADER_SIZE && new DataView(header.buffer, header.byteOffset, IMAGE_HEADER_SIZE).getUint32(HeaderOffset.MAGIC, true) === IMAGE_MAGIC;
}

/** Validate a header (64 bytes); throws ImageError naming the first bad field. */
export function parseImageHeader(header: Uint8Array): ImageHeader {
  if (header.length < IMAGE_HEADER_SIZE) throw new ImageError('truncated', `${header.length} bytes is shorter than the ${IMAGE_HEADER_SIZE}-byte header`);
  const dv = new DataView(header.buffer, header.byteOffset, IMAGE_HEADER_SIZE);
  const magic = dv.getUint32(HeaderOffset.MAGIC, true);
  if (magic !== IMAGE_MAGIC) throw new ImageError('magic', `magic 0x${magic.toString(16)} (expected 0x${IMAGE_MAGIC.toString(16)} "GYTS")`);
  const version = dv.getUint32(HeaderOffset.VERSION, true);
  if (version !== IMAGE_VERSION) throw new ImageError('version', `version ${version} (this decoder reads ${IMAGE_VERSION})`);
  if (dv.getUint32(HeaderOffset.CODE0, true) !== IMAGE_CODE0) throw new ImageError('header', `code0 0x${dv.getUint32(0, true).toString(16)} is not 0x${IMAGE_CODE0.toString(16)}`);
  if (dv.getUint32(HeaderOffset.CODE1, true) !== 0) throw new ImageError('header', 'code1 is not 0');
  const flags = dv.getBigUint64(HeaderOffset.FLAGS, true);
  if ((flags & ~IMAGE_FLAG_NATIVE_APP) !== 0n) throw new ImageError('header', `unknown flags 0x${flags.toString(16)}`);
  const kind: ImageKind = flags & IMAGE_FLAG_NATIVE_APP ? 'native-app' : 'guest';
  if (dv.getUint32(HeaderOffset.RESERVED0, true) !== 0 || dv.getBigUint64(HeaderOffset.RESERVED1, true) !== 0n) throw new ImageError('header', 'reserved fields are not 0');
  const entryCount = dv.getUint32(HeaderOffset.ENTRY_COUNT, true);
  if (entryCount < 1 || entryCount > IMAGE_MAX_ENTRIES) throw new ImageError('header', `entry_count ${entryCount} (1..${IMAGE_MAX_ENTRIES})`);
  const textOffset = u64(dv, HeaderOffset.TEXT_OFFSET, 'text_offset');
  const imageSize = u64(dv, HeaderOffset.IMAGE_SIZE, 'image_size');
  const textSize = dv.getUint32(HeaderOffset.TEXT_SIZE, true);
  const tableEnd = IMAGE_HEADER_SIZE + IMAGE_ENTRY_SIZE * entryCount;
  if (textOffset !== tableEnd) throw new ImageError('header', `text_offset ${textOffset} does not follow the ${entryCount}-entry table (${tableEnd})`);
  if (textSize > IMAGE_MAX_TEXT) throw new ImageError('header', `text_size ${textSize} exceeds ${IMAGE_MAX_TEXT}`);
  if (imageSize !== textOffset + textSize) throw new ImageError('header', `image_size ${imageSize} is not text_offset + text_size (${textOffset + textSize})`);
  return { kind, textOffset, imageSize, textSize, textCrc32: dv.getUint32(HeaderOffset.TEXT_CRC32, true), entryCount };
}

/** The entry table of a whole image whose header is `h` (`image` holds at least the table). */
export function parseEntryTable(image: Uint8Array, h: ImageHeader): ImageEntry[] {
  if (image.length < h.textOffset) throw new ImageError('truncated', `${image.length} bytes is shorter than the entry table`);
  const dv = new DataView(image.buffer, image.byteOffset, h.textOffset);
  const out: ImageEntry[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < h.entryCount; i++) {
    const at = IMAGE_HEADER_SIZE + IMAGE_ENTRY_SIZE * i;
    const offset = dv.getUint32(at, true);
    if (offset !== entryOffset(i)) throw new ImageError('entry', `entry ${i} offset ${offset} (expected ${entryOffset(i)})`);
    const raw = image.subarray(at + 4, at + 4 + IMAGE_NAME_SIZE);
    const nul = raw.indexOf(0);
    if (nul < 0) throw new ImageError('entry', `entry ${i} name is not NUL-terminated`);
    if (raw.subarray(nul).some((b) => b !== 0)) throw new ImageError('entry', `entry ${i} name is not NUL-padded`);
    const name = String.fromCharCode(...raw.subarray(0, nul));
    if (!NAME_RE.test(name)) throw new ImageError('entry', `entry ${i} name ${JSON.stringify(name)} is not an identifier`);
    if (i === 0 && name !== IMAGE_ENTRY0[h.kind]) throw new ImageError('entry', `entry 0 of a ${h.kind} image is ${JSON.stringify(name)}, not "${IMAGE_ENTRY0[h.kind]}"`);
    if (seen.has(name)) throw new ImageError('entry', `entry name ${JSON.stringify(name)} appears twice`);
    seen.add(name);
    out.push({ name, offset });
  }
  return out;
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Check the text's CRC and decode it; throws ImageError('crc' | 'text'). */
export function decodeProgramText(text: Uint8Array, h: ImageHeader): string {
  const crc = crc32(text);
  if (crc !== h.textCrc32) throw new ImageError('crc', `text CRC-32 0x${crc.toString(16).padStart(8, '0')} does not match the header's 0x${h.textCrc32.toString(16).padStart(8, '0')}`);
  try {
    return fatalUtf8.decode(text);
  } catch {
    throw new ImageError('text', 'program text is not valid UTF-8');
  }
}

/** A whole image checked end to end (what `gunyah image` tools and tests inspect). */
export function parseImage(image: Uint8Array): { header: ImageHeader; entries: ImageEntry[]; text: string } {
  const header = parseImageHeader(image);
  if (image.length < header.imageSize) throw new ImageError('truncated', `${image.length} bytes for an image of ${header.imageSize}`);
  const entries = parseEntryTable(image, header);
  const text = decodeProgramText(image.subarray(header.textOffset, header.imageSize), header);
  return { header, entries, text };
}

/** Build an image from program text and its entry names ("main" first; "app" for a native app). */
export function encodeImage(program: { text: string | Uint8Array; entries: readonly string[]; kind?: ImageKind }): Uint8Array {
  const text = typeof program.text === 'string' ? new TextEncoder().encode(program.text) : program.text;
  const names = program.entries;
  const kind = program.kind ?? 'guest';
  if (names[0] !== IMAGE_ENTRY0[kind]) throw new ImageError('entry', `the first entry of a ${kind} image must be "${IMAGE_ENTRY0[kind]}", got ${JSON.stringify(names[0])}`);
  if (names.length > IMAGE_MAX_ENTRIES) throw new ImageError('entry', `${names.length} entries (max ${IMAGE_MAX_ENTRIES})`);
  if (new Set(names).size !== names.length) throw new ImageError('entry', 'entry names repeat');
  for (const n of names) if (!NAME_RE.test(n)) throw new ImageError('entry', `entry name ${JSON.stringify(n)} is not an identifier of at most 27 characters`);
  if (text.length > IMAGE_MAX_TEXT) throw new ImageError('header', `program text of ${text.length} bytes exceeds ${IMAGE_MAX_TEXT}`);
  const textOffset = IMAGE_HEADER_SIZE + IMAGE_ENTRY_SIZE * names.length;
  const out = new Uint8Array(textOffset + text.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(HeaderOffset.CODE0, IMAGE_CODE0, true);
  dv.setBigUint64(HeaderOffset.TEXT_OFFSET, BigInt(textOffset), true);
  dv.setBigUint64(HeaderOffset.IMAGE_SIZE, BigInt(out.length), true);
  if (kind === 'native-app') dv.setBigUint64(HeaderOffset.FLAGS, IMAGE_FLAG_NATIVE_APP, true);
  dv.setUint32(HeaderOffset.TEXT_SIZE, text.length, true);
  dv.setUint32(HeaderOffset.TEXT_CRC32, crc32(text), true);
  dv.setUint32(HeaderOffset.ENTRY_COUNT, names.length, true);
  dv.setUint32(HeaderOffset.MAGIC, IMAGE_MAGIC, true);
  dv.setUint32(HeaderOffset.VERSION, IMAGE_VERSION, true);
  names.forEach((n, i) => {
    const at = IMAGE_HEADER_SIZE + IMAGE_ENTRY_SIZE * i;
    dv.setUint32(at, entryOffset(i), true);
    for (let c = 0; c < n.length; c++) out[at + 4 + c] = n.charCodeAt(c);
  });
  out.set(text, textOffset);
  return out;
}
