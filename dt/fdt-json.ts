// A blob as plain JSON for other tools to diff: the ten header fields, the reservation map and every
// node (structure-block order) with its properties' raw bytes in hex. Built from a checked walk.
import { FdtReader, type FdtReadOptions } from './fdt-reader';
import type { FdtHeader } from './fdt-format';

export interface FdtJson {
  header: FdtHeader;
  mem_rsvmap: Array<{ address: string; size: string }>;
  nodes: Array<{ path: string; name: string; properties: Array<{ name: string; len: number; value: string }> }>;
}

const HEX2 = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const hex64 = (v: bigint) => `0x${v.toString(16).padStart(16, '0')}`;

/** The JSON view of a blob (DtbError on a malformed one). */
export function fdtToJson(bytes: Uint8Array, opts: FdtReadOptions = {}): FdtJson {
  const r = new FdtReader(bytes, opts);
  const nodes: FdtJson['nodes'] = [];
  const names: string[] = [];
  r.walk({
    beginNode(s, e, depth) {
      const name = r.name(s, e);
      names.length = depth;
      names.push(name);
      nodes.push({ path: depth === 0 ? '/' : names.join('/'), name, properties: [] });
    },
    property(nameStart, valueStart, len) {
      let value = '';
      for (let i = valueStart; i < valueStart + len; i++) value += HEX2[bytes[i]!]!;
      nodes[nodes.length - 1]!.properties.push({ name: r.propName(nameStart), len, value });
    },
    endNode() {},
  });
  const { magic, totalsize, off_dt_struct, off_dt_strings, off_mem_rsvmap, version, last_comp_version, boot_cpuid_phys, size_dt_strings, size_dt_struct } =
    r.header;
  return {
    header: { magic, totalsize, off_dt_struct, off_dt_strings, off_mem_rsvmap, version, last_comp_version, boot_cpuid_phys, size_dt_strings, size_dt_struct },
    mem_rsvmap: r.memReserve().map((m) => ({ address: hex64(m.address), size: hex64(m.size) })),
    nodes,
  };
}
