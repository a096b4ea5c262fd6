// README's /dev/gunyah example, run for real: the program between the markers is copied verbatim
// into README.md (the test fails when the two differ) and runs as a process of the primary VM of a
// booted platform, creating, loading, starting and running a VM through the ioctls, serving its
// PL011 on MMIO exits.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { filter, firstValueFrom } from 'rxjs';
import { fileURLToPath } from 'node:url';
import type { Kernel } from '../../core';
import { toFdt } from '../../dt';
import { GH_MEM_ALLOW_EXEC, GH_MEM_ALLOW_READ, GH_MEM_ALLOW_WRITE, GH_VCPU_EXIT } from '../../drivers/virt';
import { builtinImage } from '../../tools/image/builtin-images';
import { buildGuestDtb, DTB_REGION, GunyahUser, parseVmDescriptionSource, type VmDescription } from '../../tools/vmm';
import { withPrimary } from './vmm/helpers/primary';

const UART_VM = `/dts-v1/;
/ {
    compatible = "gunyah-ts,vm";
    image = "builtin:uart";
    memory-size = <0x0 0x1000000>;
    console = "pl011";
    #address-cells = <2>;
    #size-cells = <2>;
    serial@9000000 { compatible = "arm,pl011", "arm,primecell"; reg = <0x0 0x9000000 0x0 0x1000>; };
};
`;

async function readmeProgram(k: Kernel, d: VmDescription, image: Uint8Array) {
  // readme:begin
  const g = new GunyahUser(k.spawn('my-vmm'));                     // ioctls with structs in this process's memory
  const vm = await g.createVm(await g.openDev('/dev/gunyah'));     // GH_CREATE_VM: a VM fd
  const ram = await g.allocGuestMemory(d.memorySize);              // anonymous memory of the process
  g.proc.copyToUser(ram, image);                                   // the image at the RAM base, where vCPU 0 starts
  const dtbIpa = d.memoryBase + d.memorySize - DTB_REGION;         // the DTB at the top, x0 at boot
  g.proc.copyToUser(ram + d.memorySize - DTB_REGION, toFdt(buildGuestDtb(d, { imageOffset: 0n }).tree));
  const flags = GH_MEM_ALLOW_READ | GH_MEM_ALLOW_WRITE | GH_MEM_ALLOW_EXEC;
  await g.setUserMemRegion(vm, { label: 0, flags, guestPhysAddr: d.memoryBase, size: d.memorySize, userspaceAddr: ram });
  await g.setDtbConfig(vm, dtbIpa, DTB_REGION);                    // GH_VM_SET_DTB_CONFIG
  const vcpu = await g.addVcpu(vm, 0);                             // GH_VM_ADD_FUNCTION(GH_FN_VCPU): a vCPU fd
  const run = await g.mapRunPage(vcpu);                            // mmap'd struct gh_vcpu_run
  await g.start(vm);                                               // GH_VM_START: memory lent, VM powered on
  let out = '';
  for (;;) {
    await g.vcpuRun(vcpu);                                         // GH_VCPU_RUN: runs the vCPU until an exit
    if (run.exitReason === GH_VCPU_EXIT.STATUS) break;             // the VM is gone: run.status, run.exitInfo
    if (run.mmioIsWrite && run.mmioAddr === 0x900_0000n) out += String.fromCharCode(Number(run.mmioData & 0xffn));
    else if (!run.mmioIsWrite) run.mmioData = 0n;                  // PL011 reads: flags 0 (TX FIFO never full)
  }
  await g.proc.exit();                                             // last fd closed: memory reclaimed, VMID freed
  return { out, exitType: run.exitInfo.type };                     // 'hello from vm 128\n', 1 (PLATFORM_OFF)
  // readme:end
}

before(async () => {
  await builtinImage('uart'); // built on the host before virtual time starts
});

test("README's /dev/gunyah program runs and matches the README text", async () => {
  const d = parseVmDescriptionSource(new TextEncoder().encode(UART_VM), 'uart.dts').descriptions[0]!;
  const image = await builtinImage('uart');
  const { result, platform } = await withPrimary(async ({ k, mgr }) => {
    const freed = firstValueFrom(mgr.events$.pipe(filter((e) => e.kind === 'freed')));
    const r = await readmeProgram(k, d, image);
    await freed; // the kernel's teardown (RM stop, reset, reclaim) finishes after the last close
    return { ...r, live: mgr.liveVms, pinned: k.mm.pages.pinnedFreedPages };
  });
  assert.equal(result.out, 'hello from vm 128\n');
  assert.equal(result.exitType, 1, 'PLATFORM_OFF');
  assert.equal(result.live, 0);
  assert.equal(result.pinned, 0);
  assert.deepEqual(platform.hv.checkInvariants(), []);

  const src = readFileSync(fileURLToPath(import.meta.url), 'utf8');
  const body = src.slice(src.indexOf('// readme:begin\n') + 16, src.indexOf('  // readme:end'));
  const dedented = body.replace(/^ {2}/gm, '');
  const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
  assert.ok(readme.includes(dedented), 'README.md shows the program exactly as this test runs it');
});
