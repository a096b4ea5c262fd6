// npm run bench -- dt: parse, serialize and DTS-print throughput on a generated 8+ MiB blob and on
// QEMU's virt blob, side by side with libfdt walking the same blobs (bench/native/fdt-walk.c).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FdtReader, parseFdt, toDts, toFdt, type FdtVisitor } from '../dt';
import { bigTree } from './dt-gen';
import { nsPerOp, printTable, type Row } from './table';

const here = dirname(fileURLToPath(import.meta.url));

/** Build the libfdt walker when gcc and libfdt are present; undefined (with a message) otherwise. */
function buildNativeWalker(dir: string): string | undefined {
  const exe = join(dir, 'fdt-walk');
  const r = spawnSync('gcc', ['-O2', '-o', exe, join(here, 'native/fdt-walk.c'), '-lfdt'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    process.stdout.write(`libfdt comparison skipped: cannot build bench/native/fdt-walk.c (needs gcc and libfdt-dev)${r.stderr ? `: ${r.stderr.trim().split('\n')[0]}` : ''}\n`);
    return undefined;
  }
  return exe;
}

function nativeWalkNs(exe: string, blobPath: string): number {
  const out = execFileSync(exe, [blobPath, '500'], { encoding: 'utf8' });
  return (JSON.parse(out) as { nsPerWalk: number }).nsPerWalk;
}

/** The walk-only visitor touches what libfdt's walker touches: each name's first byte, each value's first byte and length. */
function walkOnly(bytes: Uint8Array): number {
  let sum = 0;
  const v: FdtVisitor = {
    beginNode(s, e) {
      sum += e - s + bytes[s]!;
    },
    property(n, vs, len) {
      sum += len + bytes[n]! + (len > 0 ? bytes[vs]! : 0);
    },
    endNode() {},
  };
  new FdtReader(bytes).walk(v);
  return sum;
}

export default async function run(): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'gunyah-dt-bench-'));
  try {
    const big = toFdt(bigTree());
    const qemu = new Uint8Array(readFileSync(join(here, '../tests/fixtures/dt/qemu/virt-gicv3-smp4.dtb')));
    const blobs: Array<[string, Uint8Array]> = [
      ['generated', big],
      ['qemu-virt', qemu],
    ];
    const exe = buildNativeWalker(dir);
    const rows: Row[] = [];
    for (const [label, bytes] of blobs) {
      const path = join(dir, `${label}.dtb`);
      writeFileSync(path, bytes);
      const tree = parseFdt(bytes);
      let nodes = 0;
      let props = 0;
      for (const n of tree.walk()) {
        nodes++;
        props += n.properties.length;
      }
      const heavy = bytes.length > 1 << 20;
      const opts = heavy ? { minMs: 1500, batch: 1 } : { minMs: 500, batch: 100 };
      const native = exe ? nativeWalkNs(exe, path) : undefined;
      const measure = (op: string, fn: () => void) => {
        const ns = nsPerOp(fn, opts);
        rows.push({
          blob: `${label} (${(bytes.length / 1048576).toFixed(2)} MiB, ${nodes} nodes, ${props} props)`,
          op,
          'MB/s': bytes.length / 1e6 / (ns / 1e9),
          'ops/s': 1e9 / ns,
          'ms/op': ns / 1e6,
          'x libfdt walk': native ? ns / native : 'n/a',
        });
      };
      if (native !== undefined) {
        rows.push({
          blob: `${label} (${(bytes.length / 1048576).toFixed(2)} MiB, ${nodes} nodes, ${props} props)`,
          op: 'libfdt walk (C, -O2)',
          'MB/s': bytes.length / 1e6 / (native / 1e9),
          'ops/s': 1e9 / native,
          'ms/op': native / 1e6,
          'x libfdt walk': 1,
        });
      }
      measure('walk only (FdtReader.walk)', () => void walkOnly(bytes));
      measure('parseFdt (full tree)', () => void parseFdt(bytes));
      measure('toFdt', () => void toFdt(tree));
      measure('toDts (dtc -O dts text)', () => void toDts(tree));
    }
    printTable(rows);
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
