// A bare-metal benchmark guest: times `mmio-bench.reads=N` loads of the MagicValue register of the
// first virtio-mmio device in its DT (a full round trip to wherever the device is emulated), in
// virtual time (the generic counter) and host wall-clock time, and leaves the samples in its RAM
// for the host: at RAM top - MMIO_BENCH_RESULTS_BELOW, a header [magic, count, failed, 0] of u32
// (failed: reads that did not return the virtio magic) and then `count` pairs of f64
// [virtual ns, wall ns]. Powers the VM off with PSCI SYSTEM_OFF.
import type { GuestCpu, GuestImage } from '../../firmware/hypervisor';
import { MMIO_BENCH_MAGIC, MMIO_BENCH_RESULTS_BELOW } from '../../tools/devices/emulators';
import { bootInfo, systemOff } from './lib/baremetal';
const MAX_READS = 16384;
/** MagicValue: "virt". */
const VIRTIO_MAGIC = 0x7472_6976n;

export async function main(cpu: GuestCpu, _image: GuestImage): Promise<void> {
  const info = bootInfo(cpu, cpu.x[0]!);
  const node = info.find('virtio,mmio');
  const bootargs = info.tree.findNode('/chosen')?.string('bootargs') ?? '';
  const m = /mmio-bench\.reads=(\d+)/.exec(bootargs);
  const n = Math.min(MAX_READS, Number(m?.[1] ?? 1000));
  const out = info.memory.base + info.memory.size - MMIO_BENCH_RESULTS_BELOW;
  const samples = new Float64Array(n * 2);
  let count = 0;
  let failed = 0;
  if (node) {
    const base = info.reg(node).base;
    const nsPerTick = 1e9 / cpu.counterFrequency;
    // Warm the path (the first access of a placement sets things up).
    for (let i = 0; i < 8; i++) await cpu.mmioRead(base, 4);
    for (; count < n; count++) {
      const w0 = performance.now();
      const t0 = cpu.counter();
      const v = await cpu.mmioRead(base, 4);
      const t1 = cpu.counter();
      const w1 = performance.now();
      samples[count * 2] = Number(t1 - t0) * nsPerTick;
      samples[count * 2 + 1] = (w1 - w0) * 1e6;
      if (v !== VIRTIO_MAGIC) failed++;
    }
  }
  const head = new Uint32Array([MMIO_BENCH_MAGIC, count, failed, 0]);
  cpu.write(out, new Uint8Array(head.buffer));
  cpu.write(out + 16n, new Uint8Array(samples.buffer, 0, count * 16));
  await systemOff(cpu);
}
