// gunyah-msgq on the real hypervisor: a kernel in a VM binds a mailbox channel to a message-queue pair
// whose caps and virqs come from its DT (as the RM node's do) and exchanges messages with a peer in the
// root VM, which echoes them back upper-cased.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ContainerModule } from 'inversify';
import { GhError, Hvc, Rights, hypercall } from '../../firmware/hypervisor/index';
import { Driver, Hypercalls, Mm, ProbeDefer, type HypercallsImpl, type Kernel, type MmImpl, type PlatformDevice } from '../../core/index';
import { GhMsgq, type GhMsgqData } from '../../drivers/mailbox/index';
import { create, ok } from '../firmware/hypervisor/harness';
import { bootOnHypervisor, onMachine, vmTree } from '../core/helpers/hyp-vm';

const TX_INTID = 40; // SPI 8: the VM's TX queue "not full"
const RX_INTID = 41; // SPI 9: the VM's RX queue "not empty"
const MESSAGES = ['hello', 'from', 'the', 'guest', 'kernel', 'over', 'gunyah', 'message', 'queues', '!'];

test('a msgq mailbox channel in a VM of the real hypervisor: ordered TX, RX drained, echo round trip', async () => {
  const caps = { tx: 0n, rx: 0n };
  const got: string[] = [];
  let q: GhMsgq | undefined;
  let kernelRef: Kernel | undefined;
  let txIrq = 0;
  const { rig, kernel } = await bootOnHypervisor({
    ncpus: 1,
    tree: (env) => {
      const t = vmTree(env, 1);
      const hyp = t.root.addChild('hypervisor');
      hyp.setStringList('compatible', ['test,hypervisor', 'simple-bus']);
      hyp.setU32('#address-cells', 2);
      hyp.setU32('#size-cells', 0);
      const n = hyp.addChild(`msgq-pair@${caps.rx.toString(16)}`);
      n.setStringList('compatible', ['test,msgq-pair']);
      n.setU64('reg', [caps.tx, caps.rx]);
      n.setU32('interrupts', [0, TX_INTID - 32, 1, 0, RX_INTID - 32, 1]);
      return t;
    },
    boot: {
      drivers: [
        new ContainerModule(({ bind }) => {
          bind(Driver).toConstantValue({
            name: 'test-msgq-pair',
            ofMatchTable: [{ compatible: 'test,msgq-pair' }],
            // Shaped like rsc_mgr's probe: caps from reg, interrupt 0 is TX, 1 is RX.
            async probe(dev: PlatformDevice) {
              const tx = dev.getIrq(0);
              const rx = dev.getIrq(1);
              if (tx instanceof ProbeDefer) return tx;
              if (rx instanceof ProbeDefer) return rx;
              dev.setDrvdata({ caps: [dev.rawResource(0).address, dev.rawResource(1).address], irqs: [tx, rx] });
            },
          });
        }),
      ],
    },
    afterBoot: async (k) => {
      kernelRef = k;
      const dev = k.bus.all().find((d) => d.compatible[0] === 'test,msgq-pair')!;
      const { caps: c, irqs } = dev.getDrvdata<{ caps: bigint[]; irqs: number[] }>()!;
      txIrq = irqs[0]!;
      q = new GhMsgq(
        { mailbox: k.mailbox, irq: k.irq, hyp: k.get<HypercallsImpl>(Hypercalls), mm: k.get<MmImpl>(Mm), printk: k.printk },
        'rm-like-msgq',
        { capid: c[0]!, irq: irqs[0]! },
        { capid: c[1]!, irq: irqs[1]! },
      );
      await q.init({ rxCallback: (d: GhMsgqData) => got.push(new TextDecoder().decode(d.data.slice(0, d.length))) });
      for (const [i, m] of MESSAGES.entries()) {
        const data = new TextEncoder().encode(m);
        await k.mailbox.send(q.chan, { length: data.length, push: i === MESSAGES.length - 1, data });
      }
    },
    rootSetup: async (cpu, env, vm) => {
      const mq = async (): Promise<bigint> => {
        const m = await create(cpu, env, Hvc.PARTITION_CREATE_MSGQUEUE);
        await ok(cpu, Hvc.MSGQUEUE_CONFIGURE, m, (240 << 16) | 4, 0); // depth 4: the guest will fill it
        await ok(cpu, Hvc.OBJECT_ACTIVATE, m, 0);
        return m;
      };
      const up = await mq();
      const down = await mq();
      caps.tx = (await ok(cpu, Hvc.CSPACE_COPY_CAP_FROM, env.cspace_capid, up, vm.cspace, Rights.msgqueue.SEND, 0))[1]!;
      caps.rx = (await ok(cpu, Hvc.CSPACE_COPY_CAP_FROM, env.cspace_capid, down, vm.cspace, Rights.msgqueue.RECEIVE, 0))[1]!;
      await ok(cpu, Hvc.MSGQUEUE_BIND_SEND_VIRQ, up, vm.vic, TX_INTID, 0);
      await ok(cpu, Hvc.MSGQUEUE_BIND_RECEIVE_VIRQ, down, vm.vic, RX_INTID, 0);
      Object.assign(caps, { up, down });
    },
    rootAfterPowerOn: async (cpu) => {
      // The peer: poll the VM's TX queue (slowly, so the guest sees a full queue) and echo upper-cased.
      const { up, down } = caps as unknown as { up: bigint; down: bigint };
      const buf = BigInt(0x7f00_0000);
      let echoed = 0;
      for (let spins = 0; echoed < MESSAGES.length && spins < 10_000; spins++) {
        await cpu.spin(50_000);
        const r = await hypercall(cpu, Hvc.MSGQUEUE_RECEIVE, up, buf, 240, 0);
        if (r.error === GhError.MSGQUEUE_EMPTY) continue;
        assert.equal(r.error, GhError.OK);
        const b = new Uint8Array(Number(r.x[1]));
        cpu.read(buf, b);
        const reply = new TextEncoder().encode(new TextDecoder().decode(b).toUpperCase());
        cpu.write(buf, reply);
        const s = await hypercall(cpu, Hvc.MSGQUEUE_SEND, down, reply.length, buf, 0, 0);
        assert.equal(s.error, GhError.OK);
        echoed++;
      }
    },
  });
  assert.equal(kernelRef, kernel);
  assert.deepEqual(got, MESSAGES.map((m) => m.toUpperCase()));
  assert.ok(q!.rxCount === MESSAGES.length && q!.rxErrors === 0);
  // The guest filled the depth-4 queue, so TX-done came from the "not full" interrupt at least once.
  assert.ok(kernel.irq.desc(txIrq)!.total > 0);
  await onMachine(rig, async () => {
    await q!.remove();
    await kernel.shutdown();
  });
  assert.doesNotMatch(kernel.dmesg(), /failed|spurious/);
  assert.deepEqual(rig.hv.checkInvariants(), []);
});
