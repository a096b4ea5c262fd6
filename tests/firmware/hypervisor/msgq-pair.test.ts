// Two VMs built by a root program through hypercalls exchange messages over a queue pair, woken by
// the queues' interrupts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GhError, gicEnable, gicInit, Hvc, hypercall, Rights, type GicFrames, type GuestCpu } from '../../../firmware/hypervisor/index';
import { buildVm, create, ok, RAM_BASE, rig, signal } from './harness';

const RX_VIRQ = 40;
const TX_VIRQ = 41;
const ROUNDS = 5;

/** A guest that sends `count` numbered messages and collects what the peer sends back. */
function peer(name: string, frames: GicFrames, log: string[], done: (msgs: string[]) => void, initiator: boolean) {
  return async (cpu: GuestCpu): Promise<void> => {
    const tx = cpu.x[1]!;
    const rx = cpu.x[2]!;
    const buf = 0x8000_1000n;
    const got: string[] = [];
    let wake = signal();
    const send = (text: string): number => {
      const bytes = new TextEncoder().encode(text);
      cpu.write(buf, bytes);
      cpu.x[0] = tx;
      cpu.x[1] = BigInt(bytes.length);
      cpu.x[2] = buf;
      cpu.x[3] = 1n; // push
      cpu.x[4] = 0n;
      void cpu.hvc(0x6000 + Hvc.MSGQUEUE_SEND);
      return Number(cpu.x[0]);
    };
    cpu.setIrqVector(() => {
      for (;;) {
        const id = cpu.gicAcknowledge();
        if (id === 1023) break;
        if (id === RX_VIRQ) {
          // Drain until EMPTY, as the RM does.
          for (;;) {
            cpu.x[0] = rx;
            cpu.x[1] = buf + 0x400n;
            cpu.x[2] = 240n;
            cpu.x[3] = 0n;
            void cpu.hvc(0x6000 + Hvc.MSGQUEUE_RECEIVE);
            if (Number(cpu.x[0]) !== GhError.OK) break;
            const b = new Uint8Array(Number(cpu.x[1]));
            cpu.read(buf + 0x400n, b);
            got.push(new TextDecoder().decode(b));
          }
          wake.fire();
        }
        cpu.gicEndOfInterrupt(id);
      }
    });
    await gicInit(cpu, frames);
    await gicEnable(cpu, frames, RX_VIRQ, false);
    cpu.setIrqMasked(false);
    for (let i = 0; i < ROUNDS; i++) {
      if (initiator) assert.equal(send(`${name} ping ${i}`), GhError.OK);
      while (got.length <= i) {
        await wake.promise;
        wake = signal();
      }
      log.push(`${name} t=${cpu.counter()} got ${got[i]}`);
      if (!initiator) assert.equal(send(`${name} pong ${i}`), GhError.OK);
    }
    done(got);
  };
}

test('two VMs exchange messages through a queue pair with interrupts', async () => {
  const log: string[] = [];
  const aDone = signal<string[]>();
  const bDone = signal<string[]>();
  let frames!: GicFrames;
  const { machine, hv } = rig(async (cpu, env) => {
    frames = { gicdBase: env.gicd_base, gicrBase: env.gicr_base, gicrStride: env.gicr_stride };
    const mq = async (): Promise<bigint> => {
      const q = await create(cpu, env, Hvc.PARTITION_CREATE_MSGQUEUE);
      await ok(cpu, Hvc.MSGQUEUE_CONFIGURE, q, (240 << 16) | 8, 0);
      await ok(cpu, Hvc.OBJECT_ACTIVATE, q, 0);
      return q;
    };
    const ab = await mq();
    const ba = await mq();
    const a = await buildVm(cpu, env, machine, { vmid: 10, pa: RAM_BASE + 0x1000_0000, size: 0x10_0000, ipaBase: 0x8000_0000, entry: 0x8000_0000, code: peer('A', frames, log, aDone.fire, true), noPowerOn: true });
    const b = await buildVm(cpu, env, machine, { vmid: 11, pa: RAM_BASE + 0x1100_0000, size: 0x10_0000, ipaBase: 0x8000_0000, entry: 0x8000_0000, code: peer('B', frames, log, bDone.fire, false), noPowerOn: true });
    const copy = async (q: bigint, cs: bigint, rights: number): Promise<bigint> => (await ok(cpu, Hvc.CSPACE_COPY_CAP_FROM, env.cspace_capid, q, cs, rights, 0))[1]!;
    const aTx = await copy(ab, a.cspace, Rights.msgqueue.SEND);
    const bRx = await copy(ab, b.cspace, Rights.msgqueue.RECEIVE);
    const bTx = await copy(ba, b.cspace, Rights.msgqueue.SEND);
    const aRx = await copy(ba, a.cspace, Rights.msgqueue.RECEIVE);
    await ok(cpu, Hvc.MSGQUEUE_BIND_RECEIVE_VIRQ, ab, b.vic, RX_VIRQ, 0);
    await ok(cpu, Hvc.MSGQUEUE_BIND_SEND_VIRQ, ab, a.vic, TX_VIRQ, 0);
    await ok(cpu, Hvc.MSGQUEUE_BIND_RECEIVE_VIRQ, ba, a.vic, RX_VIRQ, 0);
    await ok(cpu, Hvc.MSGQUEUE_BIND_SEND_VIRQ, ba, b.vic, TX_VIRQ, 0);
    // The same object has different cap IDs in different cspaces.
    assert.notEqual(aTx, bRx);
    // A cap copied with Send only cannot receive.
    const denied = await hypercall(cpu, Hvc.VCPU_REGISTER_WRITE, b.vcpus[0]!, 0, 1, bTx, 0);
    assert.equal(denied.error, GhError.OK);
    await ok(cpu, Hvc.VCPU_REGISTER_WRITE, b.vcpus[0]!, 0, 2, bRx, 0);
    await ok(cpu, Hvc.VCPU_REGISTER_WRITE, a.vcpus[0]!, 0, 1, aTx, 0);
    await ok(cpu, Hvc.VCPU_REGISTER_WRITE, a.vcpus[0]!, 0, 2, aRx, 0);
    await ok(cpu, Hvc.VCPU_POWERON, b.vcpus[0]!, 0x8000_0000, 0, 0);
    await ok(cpu, Hvc.VCPU_POWERON, a.vcpus[0]!, 0x8000_0000, 0, 0);
  });
  await machine.runUntilQuiescent();
  const [aGot, bGot] = await Promise.all([aDone.promise, bDone.promise]);
  assert.deepEqual(bGot, Array.from({ length: ROUNDS }, (_, i) => `A ping ${i}`));
  assert.deepEqual(aGot, Array.from({ length: ROUNDS }, (_, i) => `B pong ${i}`));
  assert.ok(machine.now > 0);
  assert.deepEqual(hv.checkInvariants(), []);
  assert.equal(log.length, 2 * ROUNDS);
  if (process.env.HYP_DEBUG) console.log(log, machine.now, machine.eventsProcessed);
});
