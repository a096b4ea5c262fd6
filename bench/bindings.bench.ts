// npm run bench -- bindings: nodes validated per second against the binding schemas (compiled once),
// on QEMU virt's tree and on a generated 10k-node tree of the kinds of node this project generates.
import { readFileSync } from 'node:fs';
import { DeviceTree, parseFdt } from '../dt';
import { loadBindings } from '../bindings';
import { nsPerOp, printTable, type Row } from './table';

/** A clean tree of ~10k nodes: CPUs, RAM, GIC, timer, PSCI, virtio,mmio and PL011 devices, Gunyah capability nodes, reserved memory. */
export function bindingsTree(devices = 2400): DeviceTree {
  const t = new DeviceTree();
  const r = t.root;
  r.setStringList('compatible', ['acme,bindings-bench']);
  r.setString('model', 'bindings benchmark');
  r.setU32('#address-cells', 2);
  r.setU32('#size-cells', 2);
  r.setU32('interrupt-parent', 1);
  const gic = r.addChild('interrupt-controller@8000000');
  gic.setStringList('compatible', ['arm,gic-v3']);
  gic.setU32('#interrupt-cells', 3);
  gic.setEmpty('interrupt-controller');
  gic.setU32('reg', [0, 0x8000000, 0, 0x10000, 0, 0x80a0000, 0, 0xf60000]);
  gic.setU32('phandle', 1);
  const clk = r.addChild('apb-pclk');
  clk.setStringList('compatible', ['fixed-clock']);
  clk.setU32('#clock-cells', 0);
  clk.setU32('clock-frequency', 24000000);
  clk.setU32('phandle', 2);
  const timer = r.addChild('timer');
  timer.setStringList('compatible', ['arm,armv8-timer', 'arm,armv7-timer']);
  timer.setU32('interrupts', [1, 13, 4, 1, 14, 4, 1, 11, 4, 1, 10, 4]);
  timer.setEmpty('always-on');
  const psci = r.addChild('psci');
  psci.setStringList('compatible', ['arm,psci-1.0', 'arm,psci-0.2']);
  psci.setString('method', 'hvc');
  const mem = r.addChild('memory@40000000');
  mem.setString('device_type', 'memory');
  mem.setU32('reg', [0, 0x40000000, 0, 0x80000000]);
  const cpus = r.addChild('cpus');
  cpus.setU32('#address-cells', 1);
  cpus.setU32('#size-cells', 0);
  for (let i = 0; i < devices / 4; i++) {
    const c = cpus.addChild(`cpu@${i.toString(16)}`);
    c.setString('device_type', 'cpu');
    c.setStringList('compatible', ['arm,cortex-a57']);
    c.setU32('reg', i);
    c.setString('enable-method', 'psci');
  }
  for (let i = 0; i < devices; i++) {
    const v = r.addChild(`virtio@${(0x10000000 + i * 0x200).toString(16)}`);
    v.setStringList('compatible', ['virtio,mmio']);
    v.setU32('reg', [0, 0x10000000 + i * 0x200, 0, 0x200]);
    v.setU32('interrupts', [0, i % 988, 1]);
    v.setEmpty('dma-coherent');
    const s = r.addChild(`serial@${(0x20000000 + i * 0x1000).toString(16)}`);
    s.setStringList('compatible', ['arm,pl011', 'arm,primecell']);
    s.setU32('reg', [0, 0x20000000 + i * 0x1000, 0, 0x1000]);
    s.setU32('interrupts', [0, i % 988, 4]);
    s.setU32('clocks', [2, 2]);
    s.setStringList('clock-names', ['uartclk', 'apb_pclk']);
  }
  const hyp = r.addChild('hypervisor');
  hyp.setStringList('compatible', ['gunyah-hypervisor', 'qcom,gunyah-hypervisor-1.0', 'qcom,gunyah-hypervisor', 'simple-bus']);
  hyp.setU32('#address-cells', 2);
  hyp.setU32('#size-cells', 0);
  for (let i = 0; i < devices; i++) {
    const cap = 0x100 + 2 * i;
    const d = hyp.addChild(`doorbell@${cap.toString(16)}`);
    d.setStringList('compatible', ['qcom,gunyah-doorbell', 'qcom,gunyah-capability']);
    d.setU64('reg', BigInt(cap));
    d.setU32('interrupts', [0, i % 988, 1]);
    d.setU32('qcom,label', i);
    const q = hyp.addChild(`msgq-pair@${(cap + 1).toString(16)}`);
    q.setStringList('compatible', ['qcom,gunyah-message-queue', 'qcom,gunyah-capability']);
    q.setU64('reg', [BigInt(cap), BigInt(cap + 1)]);
    q.setU32('interrupts', [0, i % 988, 1, 0, (i + 1) % 988, 1]);
    q.setEmpty('qcom,is-full-duplex');
    for (const p of ['qcom,tx-message-size', 'qcom,rx-message-size']) q.setU32(p, 240);
    for (const p of ['qcom,tx-queue-depth', 'qcom,rx-queue-depth']) q.setU32(p, 8);
  }
  return t;
}

function count(t: DeviceTree): number {
  let n = 0;
  for (const _ of t.walk()) n++;
  return n;
}

export default async function run(): Promise<Row[]> {
  const t0 = process.hrtime.bigint();
  const bindings = loadBindings();
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;

  const qemu = parseFdt(new Uint8Array(readFileSync(new URL('../tests/fixtures/bindings/qemu-virt-gicv3-el2-smp4.dtb', import.meta.url))));
  const big = bindingsTree();
  const rows: Row[] = [];
  for (const [name, tree, minMs] of [['QEMU virt (4 CPUs)', qemu, 1000], ['generated', big, 3000]] as const) {
    const nodes = count(tree);
    const violations = bindings.validateTree(tree).length;
    const ns = nsPerOp(() => void bindings.validateTree(tree), { batch: 1, minMs });
    rows.push({ tree: name, nodes, violations, 'ms/tree': ns / 1e6, 'nodes/s': Math.round((nodes / ns) * 1e9) });
  }
  const virtio = qemu.findNode('/virtio_mmio@a000000')!;
  const nsNode = nsPerOp(() => void bindings.validateNode(qemu, virtio), { batch: 100 });
  rows.push({ tree: 'validateNode (virtio,mmio)', nodes: 1, violations: bindings.validateNode(qemu, virtio).length, 'ms/tree': nsNode / 1e6, 'nodes/s': Math.round(1e9 / nsNode) });
  rows.push({ tree: 'loadBindings (parse + check + compile)', nodes: bindings.schemas.length, violations: 0, 'ms/tree': loadMs, 'nodes/s': 0 });
  printTable(rows);
  return rows;
}
