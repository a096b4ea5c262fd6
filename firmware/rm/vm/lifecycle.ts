// VM lifecycle (spec §17; RM's vm_mgnt.c): validated state changes announced by VM_STATUS, the exit
// path (kill every vCPU, wait until all report POWERED_OFF, then EXITED and VM_EXITED to the owner)
// and the staged teardown of VM_RESET, one stage per RM event.
import { GhError, VcpuRunState } from '../../hypervisor';
import { RmNotif } from '../abi/message-ids';
import { vmExitedPayload, vmStatusPayload } from '../abi/notifications';
import { RmErr, RmError } from '../abi/rm-error';
import { ExitCode, ExitType, VmState, stateChangeValid, vmStateName, type VmStateCode } from '../abi/vm-state';
import type { ResourceManager } from '../resource-manager';
import type { Vm } from './vm';

/** Poll interval while waiting for killed vCPUs (the RM sleeps 2 ms between checks). */
export const EXIT_POLL_NS = 2_000_000;
/** Give up waiting after this many polls (2 s of virtual time) and carry on with the teardown. */
export const EXIT_POLL_LIMIT = 1000;

/** Reset stages (vm_reset_stage_t). */
export const ResetStage = {
  INIT: 0,
  DESTROY_VDEVICES: 1,
  RELEASE_MEMPARCELS: 2,
  RELEASE_IRQS: 3,
  DESTROY_VM: 4,
  CLEANUP_VM: 5,
  COMPLETED: 6,
} as const;

export class Lifecycle {
  constructor(private readonly rm: ResourceManager) {}

  /** vm_mgnt_send_state: VM_STATUS to every peer with an RPC link that is itself RUNNING. */
  async sendState(vm: Vm): Promise<void> {
    const payload = vmStatusPayload(vm.vmid, vm.state, vm.osState, vm.appStatus);
    for (const peer of [...vm.peers].sort((a, b) => a.vmid - b.vmid)) {
      if (!this.rm.rpc.canRpc(peer.vmid) || peer.state !== VmState.RUNNING) continue;
      await this.rm.rpc.notify(peer.vmid, RmNotif.VM_STATUS, payload);
    }
  }

  /** Move `vm` to `to` if the transition table allows it (else VM_STATE, nothing changes), and announce it. */
  async setState(vm: Vm, to: VmStateCode): Promise<void> {
    if (!stateChangeValid(vm.state, to, vm.guards)) {
      throw new RmError(RmErr.VM_STATE, `VM ${vm.vmid}: ${vmStateName(vm.state)} -> ${vmStateName(to)} not allowed`);
    }
    vm.state = to;
    this.rm.trace(`VM ${vm.vmid} -> ${vmStateName(to)}`);
    await this.sendState(vm);
  }

  /** Set a state the creation path decided on (CONFIG_IMAGE/INIT outcomes) and announce it. */
  async forceState(vm: Vm, to: VmStateCode): Promise<void> {
    vm.state = to;
    this.rm.trace(`VM ${vm.vmid} -> ${vmStateName(to)}`);
    await this.sendState(vm);
  }

  /** NOTIFY_VM_EXITED to the owner. */
  async sendExited(vm: Vm, exitType: number, exitFlags: number, exitCode: number, extra: number[] = []): Promise<void> {
    await this.rm.rpc.notify(vm.owner, RmNotif.VM_EXITED, vmExitedPayload(vm.vmid, exitType, exitFlags, exitCode, extra));
  }

  /** vm_config_handle_exit: kill every vCPU and wait until each reports POWERED_OFF. */
  async stopVcpus(vm: Vm): Promise<void> {
    const vcpus = vm.objects?.vcpus ?? [];
    if (vcpus.length === 0) return;
    const hyp = this.rm.hyp;
    for (const v of vcpus) await hyp.vcpuKill(v.cap);
    const pending = new Set(vcpus);
    for (let poll = 0; pending.size > 0; poll++) {
      for (const v of [...pending]) {
        let r = await hyp.vcpuRunCheck(v.cap);
        if (r.err === GhError.BUSY && v.affinity < 0) {
          // A proxy-scheduled vCPU only makes progress inside vcpu_run: run it so it can unwind.
          const ran = await hyp.vcpuRun(v.cap);
          if (ran.err === 0) r = ran;
        }
        if (r.err === 0 && r.state === VcpuRunState.POWERED_OFF && ((r.data[0] & 1n) === 1n || poll >= EXIT_POLL_LIMIT / 2)) pending.delete(v);
      }
      if (pending.size === 0) break;
      if (poll >= EXIT_POLL_LIMIT) {
        this.rm.trace(`VM ${vm.vmid}: ${pending.size} vCPU(s) never reported POWERED_OFF`);
        break;
      }
      await this.rm.plat.sleep(EXIT_POLL_NS);
    }
  }

  /** The common exit: stop the vCPUs, EXITED, VM_EXITED to the owner. */
  async exit(vm: Vm, exitType: number, exitFlags: number, exitCode: number, extra: number[] = []): Promise<void> {
    if (vm.crashFatal) {
      // A crash-fatal VM must never exit; the C RM panics the device here.
      this.rm.fault(`crash-fatal VM ${vm.vmid} exited (type ${exitType})`);
      return;
    }
    await this.stopVcpus(vm);
    // Callers checked RUNNING/PAUSED and the no-shutdown guard where it applies; a VM whose vCPUs
    // halted has exited whatever its attributes say.
    await this.forceState(vm, VmState.EXITED);
    await this.sendExited(vm, exitType, exitFlags, exitCode, extra);
    await this.rm.memparcels.onVmExited(vm);
  }

  /** A vCPU's halt VIRQ fired (vcpu_halt_callback): turn its run state into a VM exit. */
  async onVcpuHalt(vm: Vm, vcpuCap: bigint): Promise<void> {
    if (vm.state !== VmState.RUNNING && vm.state !== VmState.PAUSED) return; // already exited
    const r = await this.rm.hyp.vcpuRunCheck(vcpuCap);
    if (r.err !== 0) return; // not halted (a spurious or stale VIRQ)
    const code = vm.crashMsg ? ExitCode.SOFTWARE_ERROR : ExitCode.NORMAL;
    let exitType: number = ExitType.SOFTWARE_ERROR;
    let flags = 0;
    let exitCode: number = code;
    const extra: number[] = [];
    switch (r.state) {
      case VcpuRunState.POWERED_OFF:
        exitType = ExitType.PLATFORM_OFF;
        break;
      case VcpuRunState.PSCI_SYSTEM_RESET: {
        const d0 = r.data[0];
        if ((d0 >> 63n) & 1n) exitType = ExitType.PLATFORM_RESET;
        else {
          exitType = ExitType.PSCI_SYSTEM_RESET2;
          let cookie = r.data[1];
          if ((d0 >> 62n) & 1n) flags |= 1 << 15;
          else cookie &= 0xffff_ffffn;
          extra.push(Number(d0 & 0xffff_ffffn), Number(cookie & 0xffff_ffffn), Number(cookie >> 32n));
        }
        break;
      }
      case VcpuRunState.FAULT:
        exitType = ExitType.SOFTWARE_ERROR;
        break;
      default:
        exitType = ExitType.SOFTWARE_ERROR;
        exitCode = ExitCode.UNKNOWN_ERROR;
    }
    await this.exit(vm, exitType, flags, exitCode, extra);
  }

  /** Begin the staged teardown (after VM_RESET moved the VM to RESETTING). */
  startReset(vm: Vm): void {
    vm.resetStage = ResetStage.INIT;
    this.rm.post(() => this.resetStep(vm));
  }

  private async resetStep(vm: Vm): Promise<void> {
    const rm = this.rm;
    switch (vm.resetStage) {
      case ResetStage.INIT:
        vm.resetStage = ResetStage.DESTROY_VDEVICES;
        break;
      case ResetStage.DESTROY_VDEVICES:
        // One vdevice per event, as the RM does.
        if (await rm.builder.destroyOneVdevice(vm)) vm.resetStage = ResetStage.RELEASE_MEMPARCELS;
        break;
      case ResetStage.RELEASE_MEMPARCELS:
        if (await rm.memparcels.releaseOneAccepted(vm)) vm.resetStage = ResetStage.RELEASE_IRQS;
        break;
      case ResetStage.RELEASE_IRQS:
        rm.irqs.releaseAll(vm);
        vm.resetStage = ResetStage.DESTROY_VM;
        break;
      case ResetStage.DESTROY_VM:
        await rm.builder.destroyVm(vm);
        vm.resetStage = ResetStage.CLEANUP_VM;
        break;
      case ResetStage.CLEANUP_VM:
        cleanup(vm);
        vm.resetStage = ResetStage.COMPLETED;
        break;
      case ResetStage.COMPLETED:
        vm.resetStage = undefined;
        await this.setState(vm, VmState.RESET);
        rm.vms.deregisterAllPeers(vm);
        return;
      default:
        return;
    }
    rm.post(() => this.resetStep(vm));
  }
}

/** vm_reset_handle_cleanup: forget what the config and the guest told the RM. */
function cleanup(vm: Vm): void {
  vm.name = '';
  vm.uri = '';
  vm.guid = undefined;
  vm.osState = 0;
  vm.appStatus = 0;
  vm.crashMsg = undefined;
  vm.image = undefined;
  vm.firmware = undefined;
  vm.bootContext = undefined;
  vm.config = undefined;
  vm.priority = 32;
  vm.ipa.clear();
}
