// `npm run bench -- vm`: the VM API and the VMM on the whole stack (machine, hypervisor, RM, the
// primary VM's kernel with /dev/gunyah). Measures, in wall time and virtual time:
//   - GH_CREATE_VM to the first console byte (hello-lite on the RM console, read through ttyGH<vmid>);
//   - VMs created, started, run to SYSTEM_OFF and torn down per second;
//   - MMIO exits per second through GH_VCPU_RUN (mmio-loop guest, raw ioctls), and through the VMM's
//     run loop into its PL011 device emulator (the same guest, the window described as a PL011);
//   - JS heap per idle VM, and how create+start time and heap grow with 1, 16 and 64 live VMs.
// The RM hands out dynamic VMIDs 0x80..0xBF (spec §4.8), so at most 64 VMs live at once: 100 and
// 1000 live VMs are impossible by design; the 1000 row is 1000 sequential VM lifetimes instead (the
// per-VM cost must stay flat and nothing may leak).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { filter, firstValueFrom } from 'rxjs';
import { toFdt } from '../dt';
import { GH_MEM_ALLOW_EXEC, GH_MEM_ALLOW_READ, GH_MEM_ALLOW_WRITE, GH_VCPU_EXIT } from '../drivers/virt';
import { bootPlatform } from '../firmware/platform';
import type { Kernel } from '../core';
import type { GuestCpu } from '../firmware/hypervisor';
import { builtinImage } from '../tools/image';
import { bootPrimaryKernel, buildGuestDtb, defaultBoard, GunyahUser, parseVmDescriptionSource, PRIMARY_IMAGE_SIZE, Vmm, vmDescription, vmManager, type VmDescription } from '../tools/vmm';
import { printTable, type Row } from './table';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const desc = (o: Partial<VmDescription> = {}): VmDescription => vmDescription({ name: 'b', image: 'builtin:hello-lite', memorySize: 0x10_0000n, ...o });

/** mmio-loop reads 8 bytes at 0x0b000000 + (n & 0xff8) forever: here a PL011 decodes that window. */
const MMIO_LOOP_ON_PL011 = `/dts-v1/;
/ {
    compatible = "gunyah-ts,vm";
    image = "builtin:mmio-loop";
    memory-size = <0x0 0x100000>;
    console = "pl011";
    #address-cells = <2>;
    #size-cells = <2>;
    serial@b000000 {
        compatible = "arm,pl011", "arm,primecell";
        reg = <0x0 0xb000000 0x0 0x1000>;
    };
};
`;

const wallMs = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
/** Process CPU time (user + system) per operation since `c0`, in us: steadier than wall time on a shared machine. */
const cpuUsPer = (c0: NodeJS.CpuUsage, ops: number) => {
  const c = process.cpuUsage(c0);
  return ((c.user + c.system) / ops).toFixed(2);
};

function heapMiB(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

async function onPrimary<T>(program: (k: Kernel, now: () => number) => Promise<T>): Promise<T> {
  let done = false;
  let result!: T;
  const platform = bootPlatform(defaultBoard({ ramSize: 0x1_0000_0000n }), {
    primaryEntry: async (cpu: GuestCpu) => {
      const k = await bootPrimaryKernel(cpu, { kernelImage: { base: platform.primary.entry, size: PRIMARY_IMAGE_SIZE } });
      result = await program(k, () => platform.machine.now);
      done = true;
    },
  });
  await platform.machine.runUntil(() => done);
  const bad = platform.hv.checkInvariants();
  if (bad.length > 0) throw new Error(`invariants broken: ${bad.join('; ')}`);
  return result;
}

export default async function vmBench(): Promise<Row[]> {
  const helloLite = await builtinImage('hello-lite');
  const probe = await builtinImage('probe');
  const mmioLoop = await builtinImage('mmio-loop');
  const rows: Row[] = [];

  await onPrimary(async (k, now) => {
    const mgr = vmManager(k);
    const freed = (vmid: number) => firstValueFrom(mgr.events$.pipe(filter((e) => e.vmid === vmid && e.kind === 'freed')));

    // 1. GH_CREATE_VM -> first console byte.
    for (let i = 0; i < 5; i++) {
      const t0 = process.hrtime.bigint();
      const v0 = now();
      const vmm = await Vmm.create(k.spawn('vmm'), desc(), helloLite);
      const first = firstValueFrom(vmm.console$);
      await vmm.start();
      await first;
      const ms = wallMs(t0);
      const virtUs = (now() - v0) / 1e3;
      await vmm.exited;
      const f = freed(vmm.vmid);
      await vmm.close();
      await f;
      if (i === 4) rows.push({ measure: 'GH_CREATE_VM -> first console byte', value: ms, unit: 'ms wall', virtual: `${virtUs.toFixed(1)} us` });
    }

    // 2. VMs started and stopped per second (create, start, run to SYSTEM_OFF, close, freed).
    {
      const n = 50;
      const t0 = process.hrtime.bigint();
      const v0 = now();
      for (let i = 0; i < n; i++) {
        const vmm = await Vmm.create(k.spawn('vmm'), desc(), helloLite);
        await vmm.start();
        await vmm.exited;
        const f = freed(vmm.vmid);
        await vmm.close();
        await f;
      }
      const s = wallMs(t0) / 1e3;
      rows.push({ measure: 'VM lifetimes (create..freed) per second', value: n / s, unit: 'VMs/s wall', virtual: `${((now() - v0) / n / 1e3).toFixed(1)} us/VM` });
    }

    // 3. MMIO exits per second through GH_VCPU_RUN (raw ioctls, no VMM around them).
    {
      const proc = k.spawn('mmio');
      const g = new GunyahUser(proc);
      const size = 0x10_0000n;
      const dev = await g.openDev();
      const vm = await g.createVm(dev);
      const mem = await g.allocGuestMemory(size);
      proc.copyToUser(mem, mmioLoop);
      proc.copyToUser(mem + size - 0x1_0000n, toFdt(buildGuestDtb(desc({ memorySize: size }), { imageOffset: 0n }).tree));
      await g.setUserMemRegion(vm, { label: 0, flags: GH_MEM_ALLOW_READ | GH_MEM_ALLOW_WRITE | GH_MEM_ALLOW_EXEC, guestPhysAddr: 0x8000_0000n, size, userspaceAddr: mem }, true);
      await g.setDtbConfig(vm, 0x8000_0000n + size - 0x1_0000n, 0x1_0000n);
      const vcpu = await g.addVcpu(vm, 0);
      const page = await g.mapRunPage(vcpu);
      await g.start(vm);
      for (let i = 0; i < 1000; i++) await g.vcpuRun(vcpu);
      const n = 50_000;
      let exits = 0;
      const t0 = process.hrtime.bigint();
      const c0 = process.cpuUsage();
      const v0 = now();
      for (let i = 0; i < n; i++) {
        await g.vcpuRun(vcpu);
        if (page.exitReason === GH_VCPU_EXIT.MMIO) exits++;
      }
      const s = wallMs(t0) / 1e3;
      rows.push({ measure: 'MMIO exits through GH_VCPU_RUN', value: exits / s, unit: 'exits/s wall', virtual: `${((now() - v0) / n).toFixed(0)} ns/exit, ${cpuUsPer(c0, exits)} us CPU/exit` });
      const f = freed(await g.vmid(vm));
      proc.munmap(page.addr, 4096n);
      await proc.close(vcpu);
      await proc.close(vm);
      await f;
    }

    // 3b. The same guest through the VMM: its vCPU loop, the device lookup and the PL011 emulator.
    {
      const d = parseVmDescriptionSource(new TextEncoder().encode(MMIO_LOOP_ON_PL011), 'mmio-loop-pl011.dts').descriptions[0]!;
      const vmm = await Vmm.create(k.spawn('vmm-mmio'), d, mmioLoop);
      await vmm.start();
      await k.clock.sleep(1e6);
      const e0 = vmm.stats.mmioExits;
      const t0 = process.hrtime.bigint();
      const c0 = process.cpuUsage();
      const v0 = now();
      while (vmm.stats.mmioExits - e0 < 50_000) await k.clock.sleep(1e6);
      const s = wallMs(t0) / 1e3;
      const exits = vmm.stats.mmioExits - e0;
      rows.push({ measure: "MMIO exits through the VMM's PL011 (Vmm loop)", value: exits / s, unit: 'exits/s wall', virtual: `${((now() - v0) / exits).toFixed(0)} ns/exit, ${cpuUsPer(c0, exits)} us CPU/exit` });
      const f = freed(vmm.vmid);
      await vmm.stop();
      await f;
    }

    // 4. Idle VMs: heap per VM and create+start cost at 1, 16 and 64 live VMs (the VMID limit).
    const live: Vmm[] = [];
    const base = heapMiB();
    for (const target of [1, 16, 64]) {
      const t0 = process.hrtime.bigint();
      const before = live.length;
      let full = false;
      while (live.length < target) {
        // RM NORESOURCE (ENODEV) once the dynamic VMIDs (or the RM's VM slots) run out.
        const vmm = await Vmm.create(k.spawn('idle'), desc({ image: 'builtin:probe', bootargs: 'probe.stay' }), probe).catch(() => undefined);
        if (!vmm) {
          full = true;
          break;
        }
        await vmm.start();
        live.push(vmm);
      }
      // Let every probe report and go idle (its MMIO exits are served, then it waits in WFI).
      await k.clock.sleep(5e6);
      const perVmMs = wallMs(t0) / Math.max(1, live.length - before);
      const heap = heapMiB();
      rows.push({ measure: `${live.length} live idle VMs: heap per VM`, value: ((heap - base) / live.length) * 1024, unit: 'KiB', virtual: `create+start ${perVmMs.toFixed(1)} ms/VM wall${full ? ' (RM out of VMs)' : ''}` });
      if (full) break;
    }
    for (const vmm of live) {
      const f = freed(vmm.vmid);
      await vmm.stop();
      await f;
    }

    // 5. 1000 sequential lifetimes: per-VM cost and heap must stay flat.
    {
      const h0 = heapMiB();
      const laps: number[] = [];
      for (let lap = 0; lap < 10; lap++) {
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < 100; i++) {
          const vmm = await Vmm.create(k.spawn('churn'), desc(), helloLite);
          await vmm.start();
          await vmm.exited;
          const f = freed(vmm.vmid);
          await vmm.close();
          await f;
        }
        laps.push(wallMs(t0) / 100);
      }
      rows.push({ measure: '1000 sequential VM lifetimes: first 100', value: laps[0]!, unit: 'ms/VM wall', virtual: '' });
      rows.push({ measure: '1000 sequential VM lifetimes: last 100', value: laps[laps.length - 1]!, unit: 'ms/VM wall', virtual: `heap growth ${(heapMiB() - h0).toFixed(2)} MiB, live VMs ${mgr.liveVms}` });
    }
  });
  printTable(rows);
  return rows;
}
