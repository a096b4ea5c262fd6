// Hostile: loops forever on MMIO reads of an address in the device window nobody emulates, so every
// access is an exit to its VMM. Stoppable only by its owner.
import type { GuestCpu, GuestImage } from '../../firmware/hypervisor';

const NOBODY = 0x0b00_0000n;

export async function main(cpu: GuestCpu, _image: GuestImage): Promise<void> {
  let n = 0n;
  for (;;) n += await cpu.mmioRead(NOBODY + (n & 0xff8n), 8);
}
