// The overlay the RM applies to the primary VM's DT at boot (spec §23 step 4; RM's vm_dt.c): the
// /hypervisor node, the VM-ID node and the RM-RPC node with the HLOS's ends of its link.
import { DeviceTree } from '../../../dt';
import { interruptCells, OverlayBuilder } from './overlay-builder';

export interface HlosOverlayInput {
  vmid: number;
  txCap: bigint;
  rxCap: bigint;
  txVirq: number;
  rxVirq: number;
  msgSize: number;
  depth: number;
  /** `qcom,free-irq-start`: where the RM starts allocating VIRQs in the HLOS. */
  freeIrqStart: number;
}

/**
 * The primary VM's /hypervisor compatible. The RM's vm_dt.c writes "qcom,gunyah-hypervisor-1.0",
 * "qcom,gunyah-hypervisor", "simple-bus" (spec §23 step 4); with "simple-bus" dtc warns that the
 * VM-ID child has no reg, and the primary VM's boot DT must decompile without warnings, so it
 * carries the Linux binding's compatible instead (gunyah-hypervisor.yaml). Linux's RM driver
 * matches the RPC node's "gunyah-resource-manager" either way.
 */
export const HLOS_HYPERVISOR_COMPATIBLE = ['gunyah-hypervisor'] as const;

/** The RM-RPC node's compatibles for the HLOS (push-compatibles of its rm-rpc vdevice). */
export const HLOS_RM_COMPATIBLE = ['gunyah-resource-manager', 'qcom,resource-manager-1-0', 'qcom,resource-manager'] as const;

export function buildHlosOverlay(i: HlosOverlayInput): DeviceTree {
  const b = new OverlayBuilder();
  const root = b.fragment('/');
  const hyp = root.at('hypervisor');
  hyp.setU32('#address-cells', 2);
  hyp.setU32('#size-cells', 0);
  hyp.setStringList('compatible', [...HLOS_HYPERVISOR_COMPATIBLE]);
  const id = hyp.addChild('qcom,gunyah-vm');
  id.setStringList('compatible', ['qcom,gunyah-vm-id-1.0', 'qcom,gunyah-vm-id']);
  id.setU32('qcom,vmid', i.vmid);
  id.setString('qcom,vendor', 'Qualcomm');
  // Named after the TX cap like vm_dt_generate_rm_rpc_node, without its zero padding ("%016lx"):
  // dtc warns about leading zeros in a unit address.
  const rpc = hyp.addChild(`qcom,resource-manager-rpc@${i.txCap.toString(16)}`);
  rpc.setStringList('compatible', [...HLOS_RM_COMPATIBLE]);
  rpc.setU64('reg', [i.txCap, i.rxCap]);
  rpc.setU32('interrupts', [...interruptCells(i.txVirq), ...interruptCells(i.rxVirq)]);
  rpc.setU32('qcom,free-irq-start', i.freeIrqStart);
  rpc.setEmpty('qcom,is-full-duplex');
  rpc.setU32('qcom,tx-message-size', i.msgSize);
  rpc.setU32('qcom,rx-message-size', i.msgSize);
  rpc.setU32('qcom,tx-queue-depth', i.depth);
  rpc.setU32('qcom,rx-queue-depth', i.depth);
  return b.finish();
}
