// Boot a kernel on a fresh FakeMachine (GIC, arch timer, PSCI 1.1 answering VERSION).
import { startKernel, type BootOptions, type Kernel } from '../../../core/index';
import type { DeviceTree } from '../../../dt/index';
import { FakeMachine } from './fake-machine';
import { buildBoard, type BoardOptions } from './board';

export async function bootFake(opts: { board?: BoardOptions; tree?: DeviceTree; boot?: BootOptions; ncpus?: number } = {}): Promise<{ m: FakeMachine; k: Kernel }> {
  const m = new FakeMachine({ ncpus: opts.ncpus ?? opts.board?.ncpus ?? 1 });
  m.hvcHandler = (cpu) => {
    cpu.x[0] = cpu.x[0] === 0x84000000n ? 0x10001n : BigInt.asUintN(64, -1n);
  };
  const tree = opts.tree ?? buildBoard({ ncpus: m.cpus.length, ...opts.board });
  const k = await startKernel(m.cpus[0]!, tree, opts.boot ?? {});
  return { m, k };
}
