// Reads a board description (ARCHITECTURE.md "Board and VM descriptions"): physical CPUs, RAM, the
// optional machine settings of /hypervisor and the VMs of /vms. Bad boards get a BoardError that
// names the node and what is wrong.
import { readCells, type DeviceTree, type DtNode } from '../../dt';

export class BoardError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BoardError';
  }
}

export interface BoardCpu {
  /** MPIDR affinity (the cpu node's reg). */
  reg: number;
  compatible: string;
}

export interface Board {
  model: string;
  cpus: BoardCpu[];
  /** RAM regions, sorted by base. */
  ram: { base: bigint; size: bigint }[];
  seed: number;
  /** RAM kept for the RM VM, at the top of RAM. */
  rmMemorySize: bigint;
  /** VM descriptions (compatible "gunyah-ts,vm") under /vms, for the primary VM's VMM. */
  vms: DtNode[];
}

/** RM memory when the board does not say (16 MiB, as the ARCHITECTURE.md example). */
export const DEFAULT_RM_MEMORY = 0x100_0000n;
export const MAX_BOARD_CPUS = 64;

function regPairs(node: DtNode, ac: number, sc: number): { base: bigint; size: bigint }[] {
  const v = node.value('reg');
  const stride = (ac + sc) * 4;
  if (!v || v.length === 0 || v.length % stride !== 0 || ac < 1 || ac > 2 || sc < 1 || sc > 2) {
    throw new BoardError(`${node.path}: reg must be <address size> pairs of ${ac}+${sc} cells`);
  }
  const out: { base: bigint; size: bigint }[] = [];
  for (let at = 0; at < v.length / 4; at += ac + sc) out.push({ base: readCells(v, at, ac)!, size: readCells(v, at + ac, sc)! });
  return out;
}

export function parseBoard(tree: DeviceTree): Board {
  const root = tree.root;
  const ac = root.u32('#address-cells') ?? 2;
  const sc = root.u32('#size-cells') ?? 1;
  const cpusNode = root.child('cpus');
  if (!cpusNode) throw new BoardError('/cpus is missing');
  const cpus: BoardCpu[] = [];
  for (const c of cpusNode.children) {
    if (c.string('device_type') !== 'cpu') continue;
    const reg = c.u32('reg');
    if (reg === undefined) throw new BoardError(`${c.path}: reg must be one cell`);
    cpus.push({ reg, compatible: c.strings('compatible')?.[0] ?? 'arm,cortex-a57' });
  }
  if (cpus.length === 0) throw new BoardError('/cpus has no cpu nodes');
  if (cpus.length > MAX_BOARD_CPUS) throw new BoardError(`${cpus.length} CPUs (at most ${MAX_BOARD_CPUS})`);
  cpus.forEach((c, i) => {
    if (c.reg !== i) throw new BoardError(`cpu ${i} has reg ${c.reg}: CPUs must be numbered 0..n-1 in order`);
  });
  const ram: { base: bigint; size: bigint }[] = [];
  for (const n of root.children) if (n.string('device_type') === 'memory') ram.push(...regPairs(n, ac, sc));
  if (ram.length === 0) throw new BoardError('no memory node');
  ram.sort((a, b) => (a.base < b.base ? -1 : 1));
  for (const [i, r] of ram.entries()) {
    if (r.base % 0x1000n !== 0n || r.size % 0x1000n !== 0n || r.size === 0n) throw new BoardError(`RAM 0x${r.base.toString(16)}+0x${r.size.toString(16)} is not page aligned`);
    const prev = ram[i - 1];
    if (prev && prev.base + prev.size > r.base) throw new BoardError('RAM regions overlap');
  }
  const hyp = root.child('hypervisor');
  let seed = 1;
  let rmMemorySize = DEFAULT_RM_MEMORY;
  if (hyp) {
    const s = hyp.u32('seed');
    if (hyp.has('seed') && s === undefined) throw new BoardError('/hypervisor/seed must be one cell');
    if (s !== undefined) seed = s;
    if (hyp.has('rm-memory-size')) {
      const v = hyp.value('rm-memory-size')!;
      const cells = v.length / 4;
      if (v.length % 4 !== 0 || cells < 1 || cells > 2) throw new BoardError('/hypervisor/rm-memory-size must be one or two cells');
      rmMemorySize = readCells(v, 0, cells)!;
    }
  }
  const top = ram[ram.length - 1]!;
  if (rmMemorySize < 0x10_0000n || rmMemorySize % 0x1000n !== 0n || rmMemorySize * 2n > top.size) {
    throw new BoardError(`rm-memory-size 0x${rmMemorySize.toString(16)} must be page aligned, at least 1 MiB and at most half the top RAM region`);
  }
  const vms = (root.child('vms')?.children ?? []).filter((n) => n.strings('compatible')?.includes('gunyah-ts,vm'));
  return { model: root.string('model') ?? 'gunyah-ts board', cpus, ram, seed, rmMemorySize, vms };
}
