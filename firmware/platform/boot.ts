// Boots a board: the machine, the hypervisor, the RM as the root VM, and the primary VM, whose DT
// the platform writes into its memory before the RM patches it and powers it on (spec §23).
import { DeviceTree, parseFdt, toFdt } from '../../dt';
import { Hypervisor, Machine, coldBoot, ipa, physAddr, type ColdBootResult, type GuestCpu, type HypervisorOptions } from '../hypervisor';
import { rmEntry, type ResourceManager, type RmExtensions } from '../rm';
import { BoardError, parseBoard, type Board } from './board';
import { buildPrimaryDtb } from './primary-dtb';

export interface BootOptions {
  /** The primary VM's program (the guest kernel), run on its boot vCPU with x0 = its DT's IPA. */
  primaryEntry: (cpu: GuestCpu) => void | Promise<void>;
  /** Kernel command line for /chosen/bootargs. */
  bootargs?: string;
  /** Hypervisor options (cap ID scheme, IPA bits, heap). */
  hypervisor?: HypervisorOptions;
  /** Keep the RM's trace. */
  traceRm?: boolean;
  /** RM extensions beyond the open-source RM (off by default). */
  rmExtensions?: RmExtensions;
}

export interface Platform {
  readonly board: Board;
  readonly machine: Machine;
  readonly hv: Hypervisor;
  readonly boot: ColdBootResult;
  /** The primary VM's RAM, DT and entry (all identity: IPA = PA). */
  readonly primary: { base: bigint; size: bigint; dtBase: bigint; dtRegion: bigint; entry: bigint };
  readonly rmMemory: { base: bigint; size: bigint };
  /** The DT as the platform wrote it (before the RM's /hypervisor patch). */
  readonly baseDtb: Uint8Array;
  /** The RM, once its program has come up (set during the first run of the machine). */
  readonly rm: () => ResourceManager | undefined;
  /** The primary VM's DT as it is now in its memory. */
  readonly readPrimaryDtb: () => Uint8Array;
}

/** Where the kernel and its DT go in the primary VM's RAM: Gunyah's QEMU layout (DT 15 MiB in, kernel at 16 MiB). */
const DT_OFFSET = 0xf0_0000n;
const KERNEL_OFFSET = 0x100_0000n;

function boardTree(board: DeviceTree | Uint8Array): DeviceTree {
  if (board instanceof DeviceTree) return board;
  return parseFdt(board, { copy: true });
}

export function bootPlatform(boardInput: DeviceTree | Uint8Array, opts: BootOptions): Platform {
  const board = parseBoard(boardTree(boardInput));
  const machine = new Machine({ cpus: board.cpus.length, ram: board.ram.map((r) => ({ base: Number(r.base), size: Number(r.size) })), seed: board.seed });
  const hv = new Hypervisor(machine, opts.hypervisor ?? {});
  const top = board.ram[board.ram.length - 1]!;
  const rmMemory = { base: top.base + top.size - board.rmMemorySize, size: board.rmMemorySize };
  // The primary VM gets the first RAM region, less the RM's memory if that is where it lives.
  const first = board.ram[0]!;
  const primarySize = first === top ? first.size - board.rmMemorySize : first.size;
  if (primarySize < KERNEL_OFFSET + 0x10_0000n) throw new BoardError(`the primary VM would get only 0x${primarySize.toString(16)} bytes of RAM`);
  const primary = { base: first.base, size: primarySize, dtBase: first.base + DT_OFFSET, dtRegion: KERNEL_OFFSET - DT_OFFSET, entry: first.base + KERNEL_OFFSET };

  const seed = new Uint8Array(40);
  for (let i = 0; i < 40; i += 4) new DataView(seed.buffer).setUint32(i, machine.prng.u32());
  const dt = buildPrimaryDtb({
    cpus: board.cpus,
    memory: { base: primary.base, size: primary.size },
    gic: { gicdBase: BigInt(hv.gicdBase), gicrBase: BigInt(hv.gicrBase), gicrStride: BigInt(hv.gicrStride) },
    seed,
    ...(opts.bootargs !== undefined ? { bootargs: opts.bootargs } : {}),
  });
  const baseDtb = toFdt(dt);
  if (BigInt(baseDtb.length) > primary.dtRegion) throw new BoardError('the primary VM DT does not fit its region');
  machine.mem.write(Number(primary.dtBase), baseDtb);

  let rm: ResourceManager | undefined;
  machine.registerEntry(rmMemory.base, rmEntry({ trace: opts.traceRm ?? false, extensions: opts.rmExtensions ?? {}, onReady: (r) => (rm = r) }));
  machine.registerEntry(primary.entry, opts.primaryEntry);
  const boot = coldBoot(hv, {
    rootVm: { base: physAddr(rmMemory.base), size: rmMemory.size, entry: ipa(rmMemory.base) },
    hlos: { base: physAddr(primary.base), size: primary.size, dtBase: ipa(primary.dtBase), entry: ipa(primary.entry) },
    bootCore: 0,
  });
  return {
    board,
    machine,
    hv,
    boot,
    primary,
    rmMemory,
    baseDtb,
    rm: () => rm,
    readPrimaryDtb: () => {
      const head = new Uint8Array(8);
      machine.mem.read(Number(primary.dtBase), head);
      const out = new Uint8Array(Math.min(new DataView(head.buffer).getUint32(4), Number(primary.dtRegion)));
      machine.mem.read(Number(primary.dtBase), out);
      return out;
    },
  };
}
