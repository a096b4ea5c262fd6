// The vm-config reader (spec §20): a full config, and each way a config is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeviceTree } from '../../../dt';
import { parseVmConfig, VmConfigError } from '../../../firmware/rm';
import { svmDt, type SvmSpec } from './harness';

const base: SvmSpec = { name: 'cfg', hostBase: 0n, size: 0n };

function refuses(spec: Partial<SvmSpec>, fault: 'invalid' | 'denied', pattern: RegExp): void {
  assert.throws(
    () => parseVmConfig(svmDt({ ...base, ...spec })),
    (e: unknown) => e instanceof VmConfigError && e.fault === fault && pattern.test(e.message),
  );
}

test('a full config: attributes, memory, vCPUs, every supported vdevice', () => {
  const t = svmDt({
    ...base,
    vcpus: 2,
    attrs: ['no-reset', 'crash-fatal'],
    vdevices: (vd) => {
      const db = vd.addChild('doorbell-1');
      db.setString('vdevice-type', 'doorbell');
      db.setString('generate', '/hypervisor/bell');
      db.setEmpty('peer-default');
      db.setU32('interrupts', [0, 100, 1]);
      db.setU32('label', 5);
      const q = vd.addChild('mq');
      q.setString('vdevice-type', 'message-queue');
      q.setString('generate', '/hypervisor/mq');
      q.setEmpty('is-sender');
      q.setEmpty('peer-default');
      q.setU32('message-size', 64);
      q.setU32('queue-depth', 4);
      const p = vd.addChild('pair');
      p.setString('vdevice-type', 'message-queue-pair');
      p.setString('generate', '/hypervisor/pair');
      p.setString('peer', 'vm-name:other');
      p.setStringList('push-compatible', ['vendor,thing']);
    },
  });
  t.findNode('/gunyah-vm-config')!.setString('vm-guid', '01234567-89ab-cdef-0123-456789abcdef');
  const c = parseVmConfig(t);
  assert.deepEqual([...c.attrs], ['no-reset', 'crash-fatal']);
  assert.equal(c.imageName, 'cfg');
  assert.equal(c.memory.base, 0x8000_0000n);
  assert.deepEqual(c.vcpus.affinityMap, [1, 2]);
  assert.equal(c.vcpus.priorityOffset, -1);
  assert.equal(c.vcpus.timesliceUs, 2000);
  assert.deepEqual(c.vcpus.cpus.map((x) => [x.path, x.boot, x.enableMethod]), [['/cpus/cpu@0', true, undefined], ['/cpus/cpu@1', false, 'psci']]);
  assert.equal(c.psci, true);
  assert.deepEqual(c.guid, Uint8Array.from(Buffer.from('0123456789abcdef0123456789abcdef', 'hex')));
  assert.deepEqual(
    c.vdevices.map((v) => [v.type, v.generate]),
    [
      ['rm-rpc', '/hypervisor/qcom,resource-mgr'],
      ['doorbell', '/hypervisor/bell'],
      ['message-queue', '/hypervisor/mq'],
      ['message-queue-pair', '/hypervisor/pair'],
    ],
  );
  const db = c.vdevices[1]!;
  assert.ok(db.type === 'doorbell' && db.irq?.virq === 132 && db.irq.edge && db.label === 5 && !db.source);
  const rpc = c.vdevices[0]!;
  assert.ok(rpc.type === 'rm-rpc' && rpc.consoleDev && rpc.msgSize === 240 && rpc.depth === 8);
  assert.deepEqual(c.gic && [c.gic.gicdBase, c.gic.gicrBase], [0x3fff_0000n, 0x3ffd_0000n]);
});

test('configs the RM refuses', () => {
  refuses({ tweak: (t) => t.root.addChild('hypervisor') }, 'denied', /\/hypervisor already exists/);
  refuses({ tweak: (t) => t.root.addChild('memory@80000000').setString('device_type', 'memory') }, 'invalid', /only memory node/);
  refuses({ tweak: (t) => t.root.removeChild('gunyah-vm-config') }, 'invalid', /no \/qcom,vm-config/);
  refuses({ tweak: (t) => t.findNode('/gunyah-vm-config/vcpus')!.removeProperty('affinity-map') }, 'invalid', /affinity-map is missing/);
  refuses({ vcpus: 2, tweak: (t) => t.findNode('/cpus/cpu@1')!.removeProperty('enable-method') }, 'invalid', /must set enable-method/);
  refuses({ tweak: (t) => t.findNode('/cpus/cpu@0')!.setString('enable-method', 'spin-table') }, 'invalid', /unknown enable-method/);
  refuses({ tweak: (t) => t.findNode('/gunyah-vm-config')!.setStringList('vm-attrs', ['fast']) }, 'invalid', /unknown vm-attr/);
  refuses({ tweak: (t) => t.findNode('/gunyah-vm-config')!.setString('vm-guid', 'not-a-guid') }, 'invalid', /vm-guid/);
  const vdev = (f: (n: import('../../../dt').DtNode) => void) => ({
    vdevices: (vd: import('../../../dt').DtNode) => f(vd.addChild('x')),
  });
  refuses(vdev((n) => n.setString('vdevice-type', 'virtio-mmio')), 'invalid', /not supported/);
  refuses(
    vdev((n) => {
      n.setString('vdevice-type', 'message-queue');
      n.setString('generate', '/hypervisor/q');
      n.setEmpty('is-sender');
      n.setEmpty('is-receiver');
      n.setEmpty('peer-default');
    }),
    'invalid',
    /exactly one of is-sender and is-receiver/,
  );
  refuses(
    vdev((n) => {
      n.setString('vdevice-type', 'message-queue-pair');
      n.setString('generate', '/hypervisor/p');
      n.setEmpty('peer-default');
      n.setU32('queue-depth', 256);
    }),
    'invalid',
    /queue-depth 256/,
  );
  refuses(
    vdev((n) => {
      n.setString('vdevice-type', 'doorbell');
      n.setString('generate', '/hypervisor/d');
      n.setEmpty('peer-default');
      n.setStringList('push-compatible', ['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    }),
    'denied',
    /push-compatibles/,
  );
  refuses(
    vdev((n) => {
      n.setString('vdevice-type', 'doorbell');
      n.setString('generate', '/hypervisor/d');
      n.setEmpty('peer-default');
      n.setU32('interrupts', [0, 1]);
    }),
    'invalid',
    /interrupts must hold 1/,
  );
  refuses(vdev((n) => n.setString('vdevice-type', 'doorbell')), 'invalid', /generate/);
  assert.throws(() => parseVmConfig(new DeviceTree()), VmConfigError);
});
