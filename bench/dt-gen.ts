// A large, realistic device tree for the dt benchmark: SoC buses full of devices, as a big board has.
import { DeviceTree } from '../dt';

/** `buses` simple-bus nodes with `perBus` devices each (5-6 properties per device, a few subnodes): 9 MiB, 110k nodes by default. */
export function bigTree(buses = 416, perBus = 248): DeviceTree {
  const t = new DeviceTree();
  t.memReserve.push({ address: 0x80000000n, size: 0x100000n });
  const r = t.root;
  r.setStringList('compatible', ['gunyah-ts,bench-board', 'arm,vexpress']);
  r.setString('model', 'gunyah-ts benchmark board');
  r.setU32('#address-cells', 2);
  r.setU32('#size-cells', 2);
  r.setU32('interrupt-parent', 1);
  const gic = r.addChild('interrupt-controller@8000000');
  gic.setString('compatible', 'arm,gic-v3');
  gic.setU32('#interrupt-cells', 3);
  gic.setEmpty('interrupt-controller');
  gic.setU32('reg', [0, 0x8000000, 0, 0x10000, 0, 0x80a0000, 0, 0xf60000]);
  gic.setU32('phandle', 1);
  for (let b = 0; b < buses; b++) {
    const base = 0x10000000 + b * 0x100000;
    const bus = r.addChild(`bus@${base.toString(16)}`);
    bus.setStringList('compatible', ['simple-bus']);
    bus.setU32('#address-cells', 1);
    bus.setU32('#size-cells', 1);
    bus.setU32('ranges', [0, 0, base, 0x100000]);
    for (let d = 0; d < perBus; d++) {
      const off = d * 0x1000;
      const dev = bus.addChild(`serial@${off.toString(16)}`);
      dev.setStringList('compatible', ['arm,pl011', 'arm,primecell']);
      dev.setU32('reg', [off, 0x1000]);
      dev.setU32('interrupts', [0, (b * perBus + d) % 988, 4]);
      dev.setU32('clocks', [2, 3]);
      dev.setString('status', d % 4 === 0 ? 'disabled' : 'okay');
      if (d % 16 === 0) {
        dev.setProperty('local-mac-address', new Uint8Array([2, 0, b & 0xff, d & 0xff, 0x10, 0x20]));
        dev.addChild('port').setU32('reg', 0);
      }
    }
  }
  return t;
}
