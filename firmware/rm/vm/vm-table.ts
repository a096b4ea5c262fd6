// All VMs the RM knows, by VMID; VMID allocation (dynamic 0x80..0xBE lowest free first, the
// platform's secondary VMIDs 4..31 on explicit request) and the peer relation (spec §13).
import { RmErr, RmError } from '../abi/rm-error';
import { Vmid, isSecondaryVmid } from '../abi/vm-state';
import { guidToString } from '../config/overlay-builder';
import { Vm } from './vm';

export class VmTable {
  private readonly vms = new Map<number, Vm>();

  get(vmid: number): Vm | undefined {
    return this.vms.get(vmid);
  }

  /** The VM, or VMID_INVALID. */
  require(vmid: number): Vm {
    const vm = this.vms.get(vmid);
    if (!vm) throw new RmError(RmErr.VMID_INVALID, `no VM ${vmid}`);
    return vm;
  }

  *all(): IterableIterator<Vm> {
    yield* [...this.vms.values()].sort((a, b) => a.vmid - b.vmid);
  }

  get size(): number {
    return this.vms.size;
  }

  /** A VM record for `vmid` owned by `owner`, registered as the owner's peer (vm_mgnt_new_vm). */
  create(vmid: number, owner: number): Vm {
    if (this.vms.has(vmid)) throw new RmError(RmErr.DENIED, `VM ${vmid} exists`);
    const vm = new Vm(vmid, owner);
    const o = this.vms.get(owner);
    if (o && owner !== Vmid.RM) this.registerPeers(vm, o);
    this.vms.set(vmid, vm);
    return vm;
  }

  delete(vm: Vm): void {
    this.deregisterAllPeers(vm);
    this.vms.delete(vm.vmid);
  }

  /** Pick a VMID for VM_ALLOCATE: 0 -> lowest free dynamic; 4..31 -> that one if free. */
  allocateVmid(requested: number): { vmid: number; dynamic: boolean } {
    if (requested === 0) {
      for (let v = Vmid.DYNAMIC_BASE; v < Vmid.DYNAMIC_END; v++) if (!this.vms.has(v)) return { vmid: v, dynamic: true };
      throw new RmError(RmErr.NORESOURCE, 'no free dynamic VMID');
    }
    if (isSecondaryVmid(requested) && !this.vms.has(requested)) return { vmid: requested, dynamic: false };
    throw new RmError(RmErr.NORESOURCE, `VMID ${requested} is not a free secondary VMID`);
  }

  registerPeers(a: Vm, b: Vm): void {
    a.peers.add(b);
    b.peers.add(a);
  }

  deregisterAllPeers(vm: Vm): void {
    for (const p of vm.peers) p.peers.delete(vm);
    vm.peers.clear();
  }

  /** is_vm_query_allowed: the VM itself, its owner, or a peer. */
  queryAllowed(vm: Vm, client: number): boolean {
    if (client === vm.vmid || client === vm.owner) return true;
    for (const p of vm.peers) if (p.vmid === client) return true;
    return false;
  }

  /** A VM by peer id ("vm-name:x", "vm-uri:x", "vm-guid:x"), as vm_lookup_by_id. */
  lookupById(id: string): Vm | undefined {
    const colon = id.indexOf(':');
    const kind = id.slice(0, colon);
    const value = id.slice(colon + 1);
    for (const vm of this.all()) {
      if (kind === 'vm-name' && vm.name === value) return vm;
      if (kind === 'vm-uri' && vm.uri === value) return vm;
      if (kind === 'vm-guid' && vm.guid && guidToString(vm.guid) === value.toLowerCase()) return vm;
    }
    return undefined;
  }
}
