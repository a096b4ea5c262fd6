// Run the virtio-echo guest through the VMM with its virtio-console device in a given placement:
// the whole stack (hypervisor, RM, primary kernel, VMM), the device's host side fed one input line
// once the guest has sent everything, the guest's RM console and the device output collected.
import { filter, firstValueFrom, toArray } from 'rxjs';
import { toFdt } from '../../../../dt/index';
import type { Platform } from '../../../../firmware/platform/index';
import { DevicePlacements, placedVmDescription, StubVms, VIRTIO_CONSOLE_NODE, type PlacedDevice } from '../../../../tools/devices/index';
import type { StubVmLauncher } from '../../../../tools/devices/placement/stub-launcher';
import { builtinImage } from '../../../../tools/image/builtin-images';
import { buildGuestDtb } from '../../../../tools/vmm/guest-dtb';
import type { Placement, VmDescription } from '../../../../tools/vmm/vm-description';
import { Vmm, type VmExit } from '../../../../tools/vmm/vmm';
import { withPrimary, type PrimaryEnv } from '../../vmm/helpers/primary';

export const VIRTIO_NODE = VIRTIO_CONSOLE_NODE;

/** The VM description: one virtio-console device in `placement`. */
export function echoDescription(placement: Placement, bytes: number): VmDescription {
  return placedVmDescription('echo', 'builtin:virtio-echo', `virtio-echo.bytes=${bytes}`, placement);
}

/** The guest DTB the VMM builds, without the VMM's instructions to the RM (gunyah-vm-config). */
export function guestVisibleDtb(desc: VmDescription): Uint8Array {
  const { tree } = buildGuestDtb(desc, { imageOffset: 0n });
  tree.root.removeChild('gunyah-vm-config');
  return toFdt(tree);
}

export interface EchoRun {
  console: string;
  exit: VmExit;
  device: PlacedDevice;
  deviceOut: Uint8Array;
  platform: Platform;
  vmid: number;
}

export interface EchoOptions {
  bytes?: number;
  line?: string;
  /** Make the stub launcher from the booted platform (placement "stub"). */
  stubs?: (env: PrimaryEnv) => StubVmLauncher;
  /** Called once the VM runs (a test's fault injection). */
  during?: (run: { env: PrimaryEnv; vmm: Vmm; placements: DevicePlacements; stubs: StubVmLauncher }) => void | Promise<void>;
  cpus?: number;
  /** Stop the VM (as its owner) once its console matches this, instead of waiting for its exit. */
  stopOn?: RegExp;
}

export async function runEcho(placement: Placement, o: EchoOptions = {}): Promise<EchoRun> {
  const bytes = o.bytes ?? 16384;
  const line = o.line ?? 'the same bytes in every placement';
  const image = await builtinImage('virtio-echo');
  const stubImage = await builtinImage('device-stub');
  const appImages = new Map([['builtin:virtio-console-app', await builtinImage('virtio-console-app')]]);
  const desc = echoDescription(placement, bytes);
  const { result, platform } = await withPrimary(
    async (env) => {
      const { k, mgr } = env;
      const stubs = o.stubs?.(env) ?? new StubVms({ kernel: k, hv: env.platform.hv, image: stubImage });
      const placements = new DevicePlacements({ clock: k.clock, hv: env.platform.hv, stubs, appImages });
      const vmm = await Vmm.create(k.spawn('vmm'), desc, image, { devices: placements });
      const freed = firstValueFrom(mgr.events$.pipe(filter((e) => e.vmid === vmm.vmid && e.kind === 'freed')));
      const out = firstValueFrom(vmm.console$.pipe(toArray()));
      await vmm.start();
      const device = placements.devices.get(VIRTIO_NODE)!;
      // The host answers once the guest says it has sent everything (input that arrives while the
      // guest still writes is echoed by its tty in the middle of the transfer).
      let sent = false;
      let stopping = false;
      let said = '';
      const sub = vmm.console$.subscribe((b) => {
        said += new TextDecoder().decode(b);
        if (o.stopOn && !stopping && o.stopOn.test(said)) {
          stopping = true;
          void vmm.stop();
        }
        if (!sent && said.includes('virtio-echo: sent')) {
          sent = true;
          void device.input(new TextEncoder().encode(`${line}\n`));
        }
      });
      await o.during?.({ env, vmm, placements, stubs });
      const exit = await vmm.exited;
      sub.unsubscribe();
      await vmm.close();
      await freed;
      const text = new TextDecoder().decode(Uint8Array.from((await out).flatMap((c) => [...c])));
      return { console: text, exit, device, deviceOut: Uint8Array.from(device.out), vmid: vmm.vmid };
    },
    { cpus: o.cpus ?? 2, limitNs: 20_000_000_000 },
  );
  return { ...result, platform };
}
