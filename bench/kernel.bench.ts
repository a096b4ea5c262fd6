// npm run bench -- kernel: the guest kernel on the real hypervisor. Boot time (vCPU entry to every
// driver probed) in wall time and virtual time, with and without DT binding validation, and memory per
// booted kernel for 1, 10 and 100 kernels (each the root VM of its own machine; the same machines with
// an idle root VM are the baseline that is subtracted).
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { DeviceTree, toFdt } from '../dt';
import { coldBoot, decodeBootEnv, Hypervisor, ipa, Machine, physAddr, type BootEnv, type GuestCpu } from '../firmware/hypervisor';
import { bootKernel, type BootOptions, type Kernel } from '../core';
import { printTable, type Row } from './table';
import { rmDriverRows, rmRawRows, ttyRows } from './kernel-rm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const RAM_BASE = 0x4000_0000;
const ROOT_BASE = 0x4800_0000;
const ROOT_SIZE = 0x200_0000; // 32 MiB of root VM RAM for the kernel
const DTB_AT = ROOT_BASE + 0x10_0000;

/** The root VM as a one-vCPU guest: RAM, the vGIC at the platform addresses, the arch timer. */
function rootTree(env: BootEnv): DeviceTree {
  const t = new DeviceTree();
  const r = t.root;
  r.setStringList('compatible', ['gunyah-ts,vm']);
  r.setString('model', 'kernel bench');
  r.setU32('#address-cells', 2);
  r.setU32('#size-cells', 2);
  r.setU32('interrupt-parent', 1);
  const cpus = r.addChild('cpus');
  cpus.setU32('#address-cells', 1);
  cpus.setU32('#size-cells', 0);
  const c = cpus.addChild('cpu@0');
  c.setString('device_type', 'cpu');
  c.setStringList('compatible', ['arm,cortex-a57']);
  c.setU32('reg', 0);
  const mem = r.addChild(`memory@${ROOT_BASE.toString(16)}`);
  mem.setString('device_type', 'memory');
  mem.setU64('reg', [BigInt(ROOT_BASE), BigInt(ROOT_SIZE) - 0x4000n]); // the boot env sits in the last 16 KiB
  const gic = r.addChild(`interrupt-controller@${env.gicd_base.toString(16)}`);
  gic.setStringList('compatible', ['arm,gic-v3']);
  gic.setU64('reg', [env.gicd_base, 0x10000n, env.gicr_base, env.gicr_stride]);
  gic.setU32('#interrupt-cells', 3);
  gic.setEmpty('interrupt-controller');
  gic.setU32('phandle', 1);
  const timer = r.addChild('timer');
  timer.setStringList('compatible', ['arm,armv8-timer']);
  timer.setU32('interrupts', [1, 13, 4, 1, 14, 4, 1, 11, 4, 1, 10, 4]);
  return t;
}

interface Booted {
  machine: Machine;
  kernel?: Kernel;
  wallNs: number;
  virtNs: number;
}

/** A machine whose root VM boots the kernel (or, with `idle`, does nothing). */
function makeMachine(opts: { idle?: boolean; boot?: BootOptions }, out: Booted[]): Machine {
  const machine = new Machine({ cpus: 1, ram: [{ base: RAM_BASE, size: 0x1000_0000 }], seed: 1 });
  const hv = new Hypervisor(machine, { capIds: 'debug' });
  const rec: Booted = { machine, wallNs: 0, virtNs: 0 };
  out.push(rec);
  machine.registerEntry(ROOT_BASE, async (cpu: GuestCpu) => {
    if (opts.idle) return;
    const envBytes = new Uint8Array(Number(cpu.x[1]!));
    cpu.read(cpu.x[0]!, envBytes);
    const env = decodeBootEnv(envBytes);
    const t0 = process.hrtime.bigint();
    cpu.write(BigInt(DTB_AT), toFdt(rootTree(env)));
    rec.kernel = await bootKernel(cpu, BigInt(DTB_AT), { kernelImage: { base: BigInt(ROOT_BASE), size: 0x10_0000n }, ...opts.boot });
    rec.wallNs = Number(process.hrtime.bigint() - t0);
    rec.virtNs = rec.kernel.clock.now();
  });
  coldBoot(hv, {
    rootVm: { base: physAddr(ROOT_BASE), size: BigInt(ROOT_SIZE), entry: ipa(ROOT_BASE) },
    hlos: { base: physAddr(RAM_BASE), size: 0x100_0000n, dtBase: ipa(RAM_BASE), entry: ipa(RAM_BASE) },
  });
  return machine;
}

async function boot(n: number, opts: { idle?: boolean; boot?: BootOptions }): Promise<Booted[]> {
  const out: Booted[] = [];
  const machines = Array.from({ length: n }, () => makeMachine(opts, out));
  for (const m of machines) await m.runUntilQuiescent();
  for (const b of out) if (!opts.idle && !b.kernel?.running) throw new Error('a kernel did not boot');
  return out;
}

function heapUsed(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

async function memoryPerKernel(n: number): Promise<{ perKernel: number; perMachine: number }> {
  const h0 = heapUsed();
  const idle = await boot(n, { idle: true });
  const h1 = heapUsed();
  const booted = await boot(n, {});
  const h2 = heapUsed();
  // Keep both sets alive until measured.
  if (idle.length + booted.length !== 2 * n) throw new Error('unreachable');
  return { perKernel: (h2 - h1) / n, perMachine: (h1 - h0) / n };
}

export default async function run(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const [label, boot_] of [
    ['boot, bindings validation on', {}],
    ['boot, validation off', { validator: false as const }],
  ] as const) {
    await boot(3, { boot: boot_ }); // warm-up (schemas loaded and compiled, JIT)
    const runs = await boot(30, { boot: boot_ });
    const wall = runs.map((r) => r.wallNs).sort((a, b) => a - b);
    rows.push({
      measure: label,
      'median wall ms': wall[wall.length >> 1]! / 1e6,
      'min wall ms': wall[0]! / 1e6,
      'virtual us': runs[0]!.virtNs / 1e3,
      devices: runs[0]!.kernel!.devices().filter((d) => d.state === 'bound').length,
    });
  }
  printTable(rows);
  const mem: Row[] = [];
  for (const n of [1, 10, 100]) {
    const m = await memoryPerKernel(n);
    mem.push({ kernels: n, 'KiB heap per kernel': m.perKernel / 1024, 'KiB per idle machine (subtracted)': m.perMachine / 1024 });
  }
  process.stdout.write('\n');
  printTable(mem);

  // RM calls: the driver stack against raw hypercalls, on the real hypervisor and RM.
  const raw = await rmRawRows();
  const drv = await rmDriverRows();
  const ratio = Number(drv[0]!['wall us/op']) / Number(raw[0]!['wall us/op']);
  const rm = [...raw, ...drv, { path: 'driver / raw', call: 'VM_GET_VMID', 'wall us/op': ratio, 'calls/s (wall)': 0, 'virtual us/op': Number(drv[0]!['virtual us/op']) / Number(raw[0]!['virtual us/op']) }];
  process.stdout.write('\n');
  printTable(rm);

  const tty = await ttyRows();
  process.stdout.write('\n');
  printTable(tty);
  return [...rows, ...mem, ...rm, ...tty];
}
