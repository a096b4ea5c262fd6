// The board `gunyah vmm` boots when none is given (ARCHITECTURE.md's example board): Cortex-A57s,
// RAM at 1 GiB, 16 MiB of it kept for the RM.
import { DeviceTree } from '../../dt';

export interface DefaultBoardOptions {
  /** Physical CPUs (default 4). */
  cpus?: number;
  /** RAM bytes at 0x40000000 (default 2 GiB). */
  ramSize?: bigint;
  seed?: number;
}

export function defaultBoard(o: DefaultBoardOptions = {}): DeviceTree {
  const t = new DeviceTree();
  const r = t.root;
  r.setString('compatible', 'gunyah-ts,board');
  r.setString('model', 'gunyah-ts default board');
  r.setU32('#address-cells', 2);
  r.setU32('#size-cells', 2);
  const cpus = r.addChild('cpus');
  cpus.setU32('#address-cells', 1);
  cpus.setU32('#size-cells', 0);
  for (let i = 0; i < (o.cpus ?? 4); i++) {
    const c = cpus.addChild(`cpu@${i}`);
    c.setString('device_type', 'cpu');
    c.setString('compatible', 'arm,cortex-a57');
    c.setU32('reg', i);
  }
  const m = r.addChild('memory@40000000');
  m.setString('device_type', 'memory');
  m.setU64('reg', [0x4000_0000n, o.ramSize ?? 0x8000_0000n]);
  const hyp = r.addChild('hypervisor');
  hyp.setString('compatible', 'gunyah-ts,hypervisor');
  hyp.setU32('seed', o.seed ?? 1);
  return t;
}
