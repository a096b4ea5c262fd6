// `npm run bench -- placement`: the same virtio-console emulator in each placement (native app in the
// hypervisor, VMM after an MMIO exit, stub VM), side by side, on the whole stack (hypervisor, RM,
// primary kernel, VMM) of a 2-CPU board:
//   - MMIO read round trip (MagicValue), median and p99, in virtual ns and host wall ns
//     (examples/guests/mmio-bench);
//   - virtio-console throughput, guest /dev/hvc0 to the host side of the device, MB/s of virtual
//     time and of wall time (examples/guests/virtio-echo);
//   - the round trip again while 8 other busy VMs (examples/guests/hvc-loop) share the physical CPUs:
//     median, p99 and jitter (p99 - median).
import { DevicePlacements, StubVms, buildImages, finishVm, MMIO_BENCH_MAGIC, MMIO_BENCH_RESULTS_BELOW, onPrimary, placedVmDescription, startVm, VIRTIO_CONSOLE_NODE, type PrimaryEnv, type Vmm } from '../tools/devices/index';
import type { Placement } from '../tools/devices/index';
import { printTable, type Row } from './table';

const READS = 2000;
const LOADED_READS = 1000;
const XFER = 256 * 1024;
const BUSY_VMS = 8;
const PLACEMENTS: Placement[] = (process.env['PLACEMENTS']?.split(',') as Placement[] | undefined) ?? ['native', 'vmm', 'stub'];

let images = new Map<string, Uint8Array>();
const image = (name: string): Uint8Array => images.get(`builtin:${name}`)!;

function placements(env: PrimaryEnv, placement: Placement): DevicePlacements {
  const stubs = new StubVms({ kernel: env.k, hv: env.platform.hv, image: image('device-stub') });
  return new DevicePlacements({ clock: env.k.clock, hv: env.platform.hv, placement, stubs, appImages: images });
}

async function run(env: PrimaryEnv, name: string, imageName: string, bootargs: string, placement: Placement | undefined, p?: DevicePlacements): Promise<Vmm> {
  return startVm(env, placedVmDescription(name, `builtin:${imageName}`, bootargs, placement), image(imageName), p);
}

function pct(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))]!;
}

/** One mmio-bench run: [virtual ns, wall ns] samples. */
async function roundTrips(env: PrimaryEnv, placement: Placement, reads: number): Promise<{ virt: Float64Array; wall: Float64Array; failed: number }> {
  const p = placements(env, placement);
  const vmm = await run(env, `rt-${placement}`, 'mmio-bench', `mmio-bench.reads=${reads}`, placement, p);
  const exit = await vmm.exited;
  if (exit.kind !== 'status') throw new Error(`mmio-bench (${placement}) ended with ${exit.kind}`);
  const ram = vmm.guestRam;
  const at = ram.addr + ram.size - MMIO_BENCH_RESULTS_BELOW;
  const head = new Uint32Array(vmm.proc.copyFromUser(at, 16).slice().buffer);
  if (head[0] !== MMIO_BENCH_MAGIC || head[1] !== reads) throw new Error(`mmio-bench (${placement}): no results (${head[0]}, ${head[1]})`);
  const s = new Float64Array(vmm.proc.copyFromUser(at + 16n, reads * 16).slice().buffer);
  const failed = head[2]!;
  await finishVm(env, vmm);
  const virt = new Float64Array(reads);
  const wall = new Float64Array(reads);
  for (let i = 0; i < reads; i++) {
    virt[i] = s[i * 2]!;
    wall[i] = s[i * 2 + 1]!;
  }
  return { virt: virt.sort(), wall: wall.sort(), failed };
}

/** virtio-echo with XFER bytes: virtual and wall time from the guest's first byte to the host's last. */
async function throughput(env: PrimaryEnv, placement: Placement): Promise<{ virtMBs: number; wallMBs: number }> {
  const p = placements(env, placement);
  const vmm = await run(env, `xfer-${placement}`, 'virtio-echo', `virtio-echo.bytes=${XFER}`, placement, p);
  const dev = p.devices.get(VIRTIO_CONSOLE_NODE)!;
  const clock = env.platform.machine;
  let v0 = 0;
  let w0 = 0;
  let v1 = 0;
  let w1 = 0;
  const sub = dev.output$.subscribe(() => {
    if (v0 === 0) {
      v0 = clock.now;
      w0 = performance.now();
    }
    if (v1 === 0 && dev.out.length >= XFER) {
      v1 = clock.now;
      w1 = performance.now();
      void dev.input(new TextEncoder().encode('done\n'));
    }
  });
  await vmm.exited;
  sub.unsubscribe();
  await finishVm(env, vmm);
  if (v1 === 0) throw new Error(`virtio-echo (${placement}): only ${dev.out.length} of ${XFER} bytes arrived`);
  return { virtMBs: XFER / 1e6 / ((v1 - v0) / 1e9), wallMBs: XFER / 1e6 / ((w1 - w0) / 1e3) };
}

/** The round trip with BUSY_VMS busy VMs running beside it. */
async function loaded(env: PrimaryEnv, placement: Placement): Promise<{ virt: Float64Array; failed: number }> {
  const busy: Vmm[] = [];
  for (let i = 0; i < BUSY_VMS; i++) busy.push(await run(env, `busy${i}`, 'hvc-loop', '', undefined));
  try {
    return await roundTrips(env, placement, LOADED_READS);
  } finally {
    for (const b of busy) {
      await b.stop();
      await finishVm(env, b);
    }
  }
}

const fmt = (n: number, d = 0) => Number(n.toFixed(d));

export default async function placementBench(): Promise<Row[]> {
  const rows: Row[] = [];
  images = await buildImages(['mmio-bench', 'virtio-echo', 'hvc-loop', 'device-stub', 'virtio-console-app']);
  for (const placement of PLACEMENTS) {
    const row = await onPrimary(async (env) => {
      const rt = await roundTrips(env, placement, READS);
      const tp = await throughput(env, placement);
      const ld = await loaded(env, placement);
      return {
        placement,
        'rt median vns': fmt(pct(rt.virt, 0.5)),
        'rt p99 vns': fmt(pct(rt.virt, 0.99)),
        'rt median wall ns': fmt(pct(rt.wall, 0.5)),
        'rt p99 wall ns': fmt(pct(rt.wall, 0.99)),
        'MB/s (virtual)': fmt(tp.virtMBs, 1),
        'MB/s (wall)': fmt(tp.wallMBs, 2),
        [`loaded(${BUSY_VMS}) median vns`]: fmt(pct(ld.virt, 0.5)),
        [`loaded(${BUSY_VMS}) p99 vns`]: fmt(pct(ld.virt, 0.99)),
        [`loaded(${BUSY_VMS}) max vns`]: fmt(ld.virt[ld.virt.length - 1]!),
        'jitter idle vns': fmt(pct(rt.virt, 0.99) - pct(rt.virt, 0.5)),
        'jitter loaded vns': fmt(pct(ld.virt, 0.99) - pct(ld.virt, 0.5)),
        'failed reads': rt.failed + ld.failed,
      } satisfies Row;
    });
    rows.push(row);
  }
  printTable(rows);
  return rows;
}
