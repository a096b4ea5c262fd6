// The virtio-console device (virtio-mmio v2, one port) as a native app: a device emulator the
// hypervisor loads into itself from this image and runs on the trapping vCPU's time (placement A).
// `gunyah image build` sees `app` and no `main` and makes a native-app image of it.
import { nativeAppEntry, virtioConsoleFactory } from '../../tools/devices/native';

export const app = nativeAppEntry(virtioConsoleFactory());
