// A kernel on the FakeMachine with the RM node of the RM's HLOS overlay and a fake RM behind it; the
// hypervisor answers identify with the given API version.
import type { ContainerModule } from 'inversify';
import { startKernel } from '../../../core/index';
import { GunyahRm, rscMgrModule, type GunyahRmRegistry } from '../../../drivers/virt/index';
import { buildBoard } from '../../core/helpers/board';
import { FakeMachine } from '../../core/helpers/fake-machine';
import { FakeRm, RX_CAP, RX_SPI, TX_CAP, TX_SPI, type RmBehaviour } from './fake-rm';

/** A board with the RM node the RM's overlay adds (under /hypervisor). */
export function rmBoard() {
  const t = buildBoard();
  const hyp = t.root.addChild('hypervisor');
  hyp.setStringList('compatible', ['qcom,gunyah-hypervisor-1.0', 'qcom,gunyah-hypervisor', 'simple-bus']);
  hyp.setU32('#address-cells', 2);
  hyp.setU32('#size-cells', 0);
  const rpc = hyp.addChild(`qcom,resource-manager-rpc@${TX_CAP.toString(16).padStart(16, '0')}`);
  rpc.setStringList('compatible', ['gunyah-resource-manager', 'qcom,resource-manager-1-0', 'qcom,resource-manager']);
  rpc.setU64('reg', [TX_CAP, RX_CAP]);
  rpc.setU32('interrupts', [0, TX_SPI, 1, 0, RX_SPI, 1]);
  rpc.setU32('gunyah-ts,rpc-timeout-ms', 100);
  return t;
}

/** A kernel whose hypervisor answers identify with `apiVersion`, with a fake RM behind the RM node. */
export async function setupRm(apiVersion = 1, extraModules: readonly ContainerModule[] = [], behaviour?: RmBehaviour) {
  const m = new FakeMachine();
  m.hvcHandler = (cpu) => {
    if (cpu.x[0] === 0x84000000n) cpu.x[0] = 0x10001n;
    else if (cpu.x[0] === 0xc6008000n) {
      cpu.x[0] = (1n << 15n) | BigInt(apiVersion);
      cpu.x[1] = 0b1100110n;
      cpu.x[2] = 0n;
      cpu.x[3] = 0n;
    } else cpu.x[0] = BigInt.asUintN(64, -1n);
  };
  const rm = new FakeRm(m);
  rm.install();
  if (behaviour) rm.behaviour = behaviour;
  // Probing talks to the RM, so the machine must deliver its interrupts while the kernel boots.
  const k = await pump(m, startKernel(m.cpus[0]!, rmBoard(), { drivers: [rscMgrModule, ...extraModules], validator: false }));
  const reg = k.get<GunyahRmRegistry>(GunyahRm);
  return { m, k, rm, ghrm: reg.get() };
}


/** Await `p` while the fake machine runs (1 ms of virtual time per step, at most 10 s). */
export async function pump<T>(m: FakeMachine, p: Promise<T>): Promise<T> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 10_000 && !done; i++) await m.advance(1_000_000);
  return p;
}
