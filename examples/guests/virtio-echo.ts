// The guest kernel with the virtio drivers: probes the virtio-mmio node of its DT, sends
// `virtio-echo.bytes=N` bytes (default 65536, a fixed printable pattern) out of /dev/hvc0, then reads
// one line from it and writes it back as "echo:<line>". It reports on its RM console (ttyGH0) what it
// sent, what it read and any error the device gave it, and powers the VM off with PSCI SYSTEM_OFF.
// The same image runs whatever the placement of the virtio-console device.
import { bootKernel, Errno, secondaryEntry, type Cpu } from '../../core';
import { gunyahConsoleModule } from '../../drivers/tty';
import { virtioModule } from '../../drivers/virtio';
import { rscMgrModule } from '../../drivers/virt';
import type { GuestCpu, GuestImage } from '../../firmware/hypervisor';

const CHUNK = 4096;
const LINE_MAX = 4096;

/** Byte i of the transfer: printable, no newline (OPOST/ONLCR leave it alone). */
export const patternByte = (i: number): number => 0x21 + ((i * 7 + (i >> 8)) % 90);

function arg(bootargs: string, name: string): string | undefined {
  for (const a of bootargs.split(/\s+/)) if (a.startsWith(`${name}=`)) return a.slice(name.length + 1);
  return undefined;
}

export async function main(cpu: GuestCpu, image: GuestImage): Promise<void> {
  const k = await bootKernel(cpu as Cpu, cpu.x[0]!, {
    name: 'guest',
    validator: false,
    drivers: [rscMgrModule, gunyahConsoleModule, virtioModule],
    secondaryEntry: image.entry('secondary'),
    kernelImage: { base: image.base, size: image.size },
  });
  const init = k.spawn('init');
  const con = await init.open('/dev/ttyGH0');
  const enc = new TextEncoder();
  const say = (s: string) => init.writeBytes(con, enc.encode(`virtio-echo: ${s}\n`));
  const why = (e: unknown) => (e instanceof Errno ? e.code : e instanceof Error ? e.message : String(e));
  const bootargs = k.tree.findNode('/chosen')?.string('bootargs') ?? '';
  const total = Number(arg(bootargs, 'virtio-echo.bytes') ?? 65536);
  try {
    const hvc = await init.open('/dev/hvc0');
    let sent = 0;
    let sum = 0;
    const t0 = k.clock.now();
    try {
      while (sent < total) {
        const n = Math.min(CHUNK, total - sent);
        const chunk = new Uint8Array(n);
        for (let i = 0; i < n; i++) sum = (sum + (chunk[i] = patternByte(sent + i))) >>> 0;
        sent += await init.writeBytes(hvc, chunk);
      }
      await say(`sent ${sent} bytes, sum ${sum}, in ${k.clock.now() - t0} ns`);
      const line: number[] = [];
      while (line.length < LINE_MAX) {
        const b = await init.readBytes(hvc, LINE_MAX);
        if (b.length === 0) throw new Errno('EIO', 'end of file on hvc0');
        line.push(...b);
        if (b.includes(0x0a)) break;
      }
      const text = new TextDecoder().decode(Uint8Array.from(line)).replace(/\r?\n$/, '');
      await init.writeBytes(hvc, enc.encode(`echo:${text}\n`));
      await say(`read "${text}"`);
    } catch (e) {
      await say(`hvc0 error after ${sent} bytes: ${why(e)}`);
    }
  } catch (e) {
    await say(`no hvc0: ${why(e)}`);
  }
  await init.close(con);
  if (!k.psci) throw new Error('no PSCI');
  await k.psci.systemOff();
}

/** PSCI CPU_ON target of the other vCPUs. */
export function secondary(cpu: GuestCpu): Promise<void> {
  return secondaryEntry(cpu as Cpu);
}
