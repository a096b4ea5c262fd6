// Starts stub VMs (placement C): for each device, a VM of its own created through /dev/gunyah like any
// other (its own RAM, one vCPU, scheduled by the hypervisor), running the device-stub program. Once
// the stub VM exists and before it runs, the hypervisor's side of the link is set up (StubLink: the
// queues and the doorbell with caps in the stub's cspace, and the guest's shared RAM granted into the
// stub at STUB_GUEST_RAM_WINDOW), and the link block is written into the stub's RAM. (The RM cannot
// share pages that are already in a memparcel a second time, so the grant is the hypervisor's.)
import type { Kernel } from '../../../core/index';
import { encodeStubInfo, GIC_SPI_BASE, STUB_INFO_BELOW, StubLink, type Hypervisor } from '../../../firmware/hypervisor/index';
import { vmDescription } from '../../vmm/vm-description';
import { Vmm, type VmmDeviceProvider } from '../../vmm/vmm';
import type { StubDevice, StubDeviceRequest, StubVmLauncher } from '../placement/stub-launcher';

/** The program stub VMs run (examples/guests/device-stub). */
export const STUB_IMAGE = 'builtin:device-stub';
/** Where the guest's RAM appears in a stub VM's IPA space. */
export const STUB_GUEST_RAM_WINDOW = 0x1_0000_0000n;
/** The stub's INTID for its request queue (an SPI below the RM's range). */
export const STUB_REQUEST_INTID = GIC_SPI_BASE + 64;
/** RAM of a stub VM. */
export const STUB_MEMORY = 0x40_0000n;

export interface StubVmsOptions {
  kernel: Kernel;
  hv: Hypervisor;
  /** The device-stub image, built before the machine runs. */
  image: Uint8Array;
}

/** One running stub. */
export interface RunningStub extends StubDevice {
  readonly name: string;
  readonly vmm: Vmm;
  readonly link: StubLink;
}

export class StubVms implements StubVmLauncher {
  readonly stubs: RunningStub[] = [];

  constructor(private readonly o: StubVmsOptions) {}

  async launch(req: StubDeviceRequest): Promise<RunningStub> {
    const desc = vmDescription({ name: `stub-${req.name}`, image: STUB_IMAGE, memorySize: STUB_MEMORY, console: 'pl011' });
    let link: StubLink | undefined;
    const hv = this.o.hv;
    const provider: VmmDeviceProvider = {
      // Shared so that the VMM can leave the link block in it once the VM exists.
      shareMemory: true,
      create: () => undefined,
      beforeRun: async (vmm) => {
        link = new StubLink(hv, {
          guestVmid: req.guestVmid,
          base: req.base,
          size: req.size,
          guestIntid: req.spi,
          stubVmid: vmm.vmid,
          requestIntid: STUB_REQUEST_INTID,
          chardev: (b) => req.chardev.write(b),
          guestRam: { gpa: req.guestRam.gpa, size: req.guestRam.size, window: STUB_GUEST_RAM_WINDOW },
        });
        const ram = vmm.guestRam;
        vmm.proc.copyToUser(
          ram.addr + ram.size - STUB_INFO_BELOW,
          encodeStubInfo({
            deviceKind: req.kind,
            requestCap: link.caps.request,
            replyCap: link.caps.reply,
            doorbellCap: link.caps.doorbell,
            requestIntid: STUB_REQUEST_INTID,
            guestRamGpa: req.guestRam.gpa,
            guestRamSize: req.guestRam.size,
            guestRamWindow: STUB_GUEST_RAM_WINDOW,
          }),
        );
      },
    };
    const proc = this.o.kernel.spawn(`stub-${req.name}`, undefined, req.guestProcess);
    const vmm = await Vmm.create(proc, desc, this.o.image, { devices: provider });
    await vmm.start();
    if (!link) throw new Error('the stub VM started without its link');
    const l = link;
    let closed = false;
    const stub: RunningStub = {
      name: req.name,
      vmm,
      link: l,
      input: (b) => l.input(b),
      get stats() {
        return { ...l.stats, stubRuns: vmm.stats.runs };
      },
      close: async () => {
        if (closed) return;
        closed = true;
        l.close();
        await vmm.stop();
      },
    };
    this.stubs.push(stub);
    return stub;
  }
}
