// The PL011 UART as a native app (placement A): the same emulator the VMM and stub VMs run,
// loaded by the hypervisor from this image.
import { nativeAppEntry, pl011Factory } from '../../tools/devices/native';

export const app = nativeAppEntry(pl011Factory);
