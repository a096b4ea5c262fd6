// The RM program: the code the root vCPU runs at its entry point. It reads the boot environment
// (x0 = its IPA, x1 = its size), brings up its interrupt controller, builds the primary VM and
// serves RPC forever (spec §23).
import { ApiFlags0, decodeBootEnv, type BootEnv, type GuestCpu } from '../hypervisor';
import { CpuPlatform } from './hyp/cpu-platform';
import { ResourceManager, type RmExtensions } from './resource-manager';
import type { RmEnv } from './rm-env';
import { MsgqTransport } from './server/msgq-transport';
import { createHlos } from './vm/hlos';

const CAP_INVALID = 0xffff_ffff_ffff_ffffn;
/** The RM's message buffers: the second page of its RAM (the first is its entry point). */
const BUFFER_OFFSET = 0x1000n;
/**
 * VMs' IPA spaces end here: 36 bits, the hypervisor's default stage-2 input size here (the boot
 * env does not carry it; a VM asking for more gets NORESOURCE from the RM, not a fault).
 */
const IPA_LIMIT = 1n << 36n;

export interface RmMainOptions {
  /** Keep a trace of RM events in `rm.traceLog`. */
  trace?: boolean;
  /** Called with the RM once it is up (tests and tools inspect it; the RM itself never needs it). */
  onReady?: (rm: ResourceManager) => void;
  /** gunyah-ts extensions beyond the open-source RM (each off by default: the RM answers as the C RM does). */
  extensions?: RmExtensions;
}

/** The RM's view of the boot environment. */
export function rmEnvFrom(b: BootEnv, vcpuRun: boolean): RmEnv {
  return {
    partition: b.partition_capid,
    cspace: b.cspace_capid,
    addrspace: b.addrspace_capid,
    vic: b.vic_capid,
    vcpu: b.vcpu_capid,
    ramMe: b.me_capid,
    ramBase: b.me_ipa_base,
    ramSize: b.me_size,
    rootMe: b.ddr_me_capid,
    rootBase: b.ddr_me_base,
    rootSize: b.ddr_me_size,
    deviceMe: b.device_me_capid === CAP_INVALID ? undefined : b.device_me_capid,
    deviceBase: b.device_me_base,
    deviceSize: b.device_me_size,
    gicdBase: b.gicd_base,
    gicrBase: b.gicr_base,
    gicrStride: b.gicr_stride,
    bootCore: Number(b.boot_core),
    usableCores: b.usable_cores,
    hlosBase: b.hlos_vm_base,
    hlosSize: b.hlos_vm_size,
    hlosDtBase: b.hlos_dt_base,
    hlosEntry: b.entry_hlos,
    hwirqs: b.hwirqs.map(([irq, cap]) => [Number(irq), cap]),
    vcpuRun,
    ipaLimit: IPA_LIMIT,
  };
}

/** An RM entry for Machine.registerEntry. */
export function rmEntry(opts: RmMainOptions = {}): (cpu: GuestCpu) => Promise<void> {
  return (cpu) => rmMain(cpu, opts);
}

export async function rmMain(cpu: GuestCpu, opts: RmMainOptions = {}): Promise<void> {
  const envIpa = cpu.x[0]!;
  const envSize = Number(cpu.x[1]!);
  const raw = new Uint8Array(envSize);
  cpu.read(envIpa, raw);
  const boot = decodeBootEnv(raw);
  const gic = { gicdBase: boot.gicd_base, gicrBase: boot.gicr_base, gicrStride: boot.gicr_stride };
  const plat = new CpuPlatform(cpu, gic);
  const id = await plat.hyp.identify();
  const env = rmEnvFrom(boot, (id.flags0 & BigInt(ApiFlags0.VCPU_RUN)) !== 0n);
  const transport = new MsgqTransport(plat.hyp, plat, env.ramBase + BUFFER_OFFSET, env.ramBase + BUFFER_OFFSET + 0x100n);
  const rm = new ResourceManager(env, plat, transport, opts.extensions ?? {});
  rm.tracing = opts.trace ?? false;
  // irq_handle_rand_base: lent-IRQ handles start at a random base so they cannot be guessed.
  rm.irqs.setHandleBase(new DataView((await plat.hyp.entropy(4)).buffer).getUint32(0, true) & 0x7fff_f000);
  await plat.init((intid) => rm.interrupt(intid));
  await createHlos(rm);
  opts.onReady?.(rm);
  await rm.run();
}
