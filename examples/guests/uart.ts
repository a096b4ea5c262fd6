// A bare-metal guest on a PL011: writes "hello from vm N" through the UART's data register, then,
// with `uart.echo` in its bootargs, takes receive interrupts and echoes each line back upper-cased
// until it reads "bye". The same program runs whatever the UART's placement (VMM after MMIO exits,
// native app, stub VM). Powers the VM off with PSCI SYSTEM_OFF.
import type { GuestCpu, GuestImage } from '../../firmware/hypervisor';
import { bootInfo, enableInterrupts, systemOff } from './lib/baremetal';

const DR = 0x000n;
const FR = 0x018n;
const LCR_H = 0x02cn;
const CR = 0x030n;
const IMSC = 0x038n;
const ICR = 0x044n;
const FR_TXFF = 1n << 5n;
const FR_RXFE = 1n << 4n;
const INT_RX = 1n << 4n;
const INT_RT = 1n << 6n;

export async function main(cpu: GuestCpu, _image: GuestImage): Promise<void> {
  const info = bootInfo(cpu, cpu.x[0]!);
  const node = info.find('arm,pl011');
  if (!node) throw new Error('no PL011 in the DT');
  const base = info.reg(node).base;
  const putc = async (c: number) => {
    while ((await cpu.mmioRead(base + FR, 4)) & FR_TXFF) await cpu.spin(1000);
    await cpu.mmioWrite(base + DR, 4, BigInt(c));
  };
  const puts = async (s: string) => {
    for (const c of new TextEncoder().encode(s)) await putc(c);
  };
  await cpu.mmioWrite(base + LCR_H, 4, 0x70n); // 8 bits, FIFOs on
  await cpu.mmioWrite(base + CR, 4, 0x301n); // UARTEN | TXE | RXE
  await puts(`hello from vm ${info.vmid}\n`);
  const args = info.tree.findNode('/chosen')?.string('bootargs') ?? '';
  if (args.split(/\s+/).includes('uart.echo')) {
    // The UART's interrupt is a level: the vector only notes it and leaves it active; the loop
    // drains the receive FIFO, clears the UART's interrupt and only then ends it, so a line that
    // is still up re-pends once (new data) instead of storming.
    let active: number | undefined;
    await enableInterrupts(cpu, info.gic, [{ intid: info.intid(node), edge: (node.u32s('interrupts')?.[2] ?? 4) === 1 }], (intid) => {
      active = intid;
      return false;
    });
    await cpu.mmioWrite(base + IMSC, 4, INT_RX | INT_RT);
    let line = '';
    for (;;) {
      while (active === undefined) await cpu.wfi();
      do {
        while (!((await cpu.mmioRead(base + FR, 4)) & FR_RXFE)) {
          const c = String.fromCharCode(Number((await cpu.mmioRead(base + DR, 4)) & 0xffn));
          if (c !== '\n') {
            line += c;
            continue;
          }
          if (line === 'bye') {
            await puts('bye\n');
            return systemOff(cpu);
          }
          await puts(`${line.toUpperCase()}\n`);
          line = '';
        }
        await cpu.mmioWrite(base + ICR, 4, INT_RX | INT_RT);
      } while (!((await cpu.mmioRead(base + FR, 4)) & FR_RXFE));
      const intid = active;
      active = undefined;
      cpu.gicEndOfInterrupt(intid);
    }
  }
  await systemOff(cpu);
}
