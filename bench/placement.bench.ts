// `npm run bench -- placement`: the same virtio-console emulator in each placement (native app in the
// hypervisor, VMM after an MMIO exit, stub VM), side by side, on the whole stack (hypervisor, RM,
// primary kernel, VMM) of a 2-CPU board:
//   - MMIO read round trip (MagicValue), median and p99, in virtual ns and host wall ns
//     (examples/guests/mmio-bench);
//   - virtio-console throughput, guest /dev/hvc0 to the host side of the device, MB/s of virtual
//     time and of wall time (examples/guests/virtio-echo);
//   - the round trip again while 8 other busy VMs (examples/guests/hvc-loop) share the physical CPUs:
//     median, p99 and jitter (p99 - median).
import { filter, firstValueFrom } from 'rxjs';
import { DeviceTree } from '../dt/index';
import type { GuestCpu } from '../firmware/hypervisor/index';
import { bootPlatform, type Platform } from '../firmware/platform/index';
import type { Kernel } from '../core/index';
import type { GhVmManager } from '../drivers/virt/index';
import { DevicePlacements, type StubVmLauncher } from '../tools/devices/index';
import { builtinImage } from '../tools/image/builtin-images';
import { defaultBoard } from '../tools/vmm/default-board';
import { bootPrimaryKernel, PRIMARY_IMAGE_SIZE, vmManager } from '../tools/vmm/primary-kernel';
import { parseVmDescription, type Placement, type VmDescription } from '../tools/vmm/vm-description';
import { Vmm } from '../tools/vmm/vmm';
import { MMIO_BENCH_MAGIC, MMIO_BENCH_RESULTS_BELOW } from '../examples/guests/mmio-bench';
import { printTable, type Row } from './table';

const READS = 2000;
const LOADED_READS = 1000;
const XFER = 256 * 1024;
const BUSY_VMS = 8;
const PLACEMENTS: Placement[] = (process.env['PLACEMENTS']?.split(',') as Placement[] | undefined) ?? ['native', 'vmm', 'stub'];

function description(name: string, image: string, bootargs: string, placement: Placement | undefined): VmDescription {
  const t = new DeviceTree();
  const r = t.root;
  r.setStringList('compatible', ['gunyah-ts,vm']);
  r.setString('model', name);
  r.setString('image', image);
  r.setU64('memory-size', [0x200_0000n]);
  r.setString('bootargs', bootargs);
  r.setU32('#address-cells', 2);
  r.setU32('#size-cells', 2);
  if (placement) {
    const d = r.addChild('virtio_mmio@a000000');
    d.setStringList('compatible', ['virtio,mmio']);
    d.setU32('virtio-device-type', 3);
    d.setU64('reg', [0x0a00_0000n, 0x200n]);
    d.setEmpty('dma-coherent');
    d.setString('placement', placement);
  }
  return parseVmDescription(t, r);
}

interface Env {
  k: Kernel;
  mgr: GhVmManager;
  platform: Platform;
}

/** Boot the stack and run `program` in the primary VM. */
async function onPrimary<T>(program: (env: Env) => Promise<T>): Promise<T> {
  let done = false;
  let result!: T;
  let failure: unknown;
  const platform = bootPlatform(defaultBoard({ cpus: 2 }), {
    primaryEntry: async (cpu: GuestCpu) => {
      const k = await bootPrimaryKernel(cpu, { kernelImage: { base: platform.primary.entry, size: PRIMARY_IMAGE_SIZE } });
      try {
        result = await program({ k, mgr: vmManager(k), platform });
      } catch (e) {
        failure = e;
      }
      done = true;
    },
  });
  await platform.machine.runUntil(() => done);
  if (failure) throw failure;
  if (!done) throw new Error(`the benchmark program did not finish (virtual time ${platform.machine.now} ns)`);
  return result;
}

function stubsFor(_env: Env): { stubs?: StubVmLauncher } {
  return {};
}

/** Images are built before the machine runs (a build is host work the simulation cannot wait for). */
const images = new Map<string, Uint8Array>();

async function startVm(env: Env, d: VmDescription, placements: DevicePlacements | undefined): Promise<Vmm> {
  const image = images.get(d.image);
  if (!image) throw new Error(`${d.image} was not built`);
  const vmm = await Vmm.create(env.k.spawn(`vmm-${d.name}`), d, image, placements ? { devices: placements } : {});
  await vmm.start();
  return vmm;
}

async function finish(env: Env, vmm: Vmm): Promise<void> {
  const freed = firstValueFrom(env.mgr.events$.pipe(filter((e) => e.vmid === vmm.vmid && e.kind === 'freed')));
  await vmm.close();
  await freed;
}

function pct(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))]!;
}

/** One mmio-bench run: [virtual ns, wall ns] samples. */
async function roundTrips(env: Env, placement: Placement, reads: number): Promise<{ virt: Float64Array; wall: Float64Array }> {
  const placements = new DevicePlacements({ clock: env.k.clock, hv: env.platform.hv, placement, ...stubsFor(env) });
  const d = description(`rt-${placement}`, 'builtin:mmio-bench', `mmio-bench.reads=${reads}`, placement);
  const vmm = await startVm(env, d, placements);
  if (process.env['BENCH_DEBUG']) vmm.console$.subscribe((b) => process.stdout.write(new TextDecoder().decode(b)));
  const exit = await vmm.exited;
  if (process.env['BENCH_DEBUG']) console.log('rt exit', JSON.stringify(exit, (_k, v) => (typeof v === 'bigint' ? String(v) : v)));
  if (exit.kind !== 'status') throw new Error(`mmio-bench (${placement}) ended with ${exit.kind}`);
  const ram = vmm.guestRam;
  const at = ram.addr + ram.size - MMIO_BENCH_RESULTS_BELOW;
  const head = new Uint32Array(vmm.proc.copyFromUser(at, 8).slice().buffer);
  if (head[0] !== MMIO_BENCH_MAGIC || head[1] !== reads) throw new Error(`mmio-bench (${placement}): no results (${head[0]}, ${head[1]})`);
  const s = new Float64Array(vmm.proc.copyFromUser(at + 8n, reads * 16).slice().buffer);
  await finish(env, vmm);
  const virt = new Float64Array(reads);
  const wall = new Float64Array(reads);
  for (let i = 0; i < reads; i++) {
    virt[i] = s[i * 2]!;
    wall[i] = s[i * 2 + 1]!;
  }
  return { virt: virt.sort(), wall: wall.sort() };
}

/** virtio-echo with XFER bytes: virtual and wall time from the guest's first byte to the host's last. */
async function throughput(env: Env, placement: Placement): Promise<{ virtMBs: number; wallMBs: number }> {
  const placements = new DevicePlacements({ clock: env.k.clock, hv: env.platform.hv, placement, ...stubsFor(env) });
  const d = description(`xfer-${placement}`, 'builtin:virtio-echo', `virtio-echo.bytes=${XFER}`, placement);
  const vmm = await startVm(env, d, placements);
  const dev = placements.devices.get('virtio_mmio@a000000')!;
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
  await finish(env, vmm);
  if (v1 === 0) throw new Error(`virtio-echo (${placement}): only ${dev.out.length} of ${XFER} bytes arrived`);
  return { virtMBs: XFER / 1e6 / ((v1 - v0) / 1e9), wallMBs: XFER / 1e6 / ((w1 - w0) / 1e3) };
}

/** The round trip with BUSY_VMS busy VMs running beside it. */
async function loaded(env: Env, placement: Placement): Promise<{ virt: Float64Array }> {
  const busy: Vmm[] = [];
  for (let i = 0; i < BUSY_VMS; i++) busy.push(await startVm(env, description(`busy${i}`, 'builtin:hvc-loop', '', undefined), undefined));
  try {
    return await roundTrips(env, placement, LOADED_READS);
  } finally {
    for (const b of busy) {
      await b.stop();
      await finish(env, b);
    }
  }
}

const fmt = (n: number, d = 0) => Number(n.toFixed(d));

export default async function placementBench(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const name of ['mmio-bench', 'virtio-echo', 'hvc-loop']) images.set(`builtin:${name}`, await builtinImage(name));
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
        'jitter idle vns': fmt(pct(rt.virt, 0.99) - pct(rt.virt, 0.5)),
        [`jitter loaded vns`]: fmt(pct(ld.virt, 0.99) - pct(ld.virt, 0.5)),
      } satisfies Row;
    });
    rows.push(row);
  }
  printTable(rows);
  return rows;
}
