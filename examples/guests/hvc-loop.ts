// Hostile: loops forever issuing hypercalls (hypervisor_identify). Each is a preemption point; the
// vCPU is preempted at its timeslice and its owner stops it.
import { hypercall, Hvc, type GuestCpu, type GuestImage } from '../../firmware/hypervisor';

export async function main(cpu: GuestCpu, _image: GuestImage): Promise<void> {
  for (;;) await hypercall(cpu, Hvc.HYPERVISOR_IDENTIFY);
}
