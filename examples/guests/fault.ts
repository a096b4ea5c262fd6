// Hostile: every access it makes faults. It reads and writes addresses stage 2 does not map (outside
// its RAM and outside the device window), catching the synchronous aborts a few hundred times, then
// lets one escape: the vCPU faults and the RM turns that into a VM exit (SOFTWARE_ERROR).
import type { GuestCpu, GuestImage } from '../../firmware/hypervisor';

/** Beyond any RAM the VMM gives a VM, and above the 1 GiB VMMIO window. */
const HOLE = 0x7_0000_0000n;

export async function main(cpu: GuestCpu, _image: GuestImage): Promise<void> {
  let aborts = 0;
  for (let i = 0; i < 300; i++) {
    try {
      if (i % 2) cpu.write32(HOLE + BigInt(i * 4096), i);
      else cpu.read32(HOLE + BigInt(i * 4096));
    } catch {
      aborts++;
    }
    await cpu.spin(1000);
  }
  if (aborts !== 300) throw new Error(`only ${aborts} of 300 accesses faulted`);
  cpu.read64(HOLE);
}
