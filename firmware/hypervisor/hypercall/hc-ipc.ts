// Handlers: doorbells and message queues (spec §7, §8).
import { GhError } from '../abi/errors';
import { Hvc } from '../abi/hypercalls';
import { ObjectType, RIGHT_OBJECT_ACTIVATE, Rights } from '../abi/objects';
import { MSGQ_COPY_NS_PER_BYTE } from '../costs';
import type { Hypervisor } from '../hypervisor';
import type { Vic } from '../irq/vic';
import type { Doorbell } from '../ipc/doorbell';
import type { Msgqueue } from '../ipc/msgqueue';
import type { Vcpu } from '../vm/vcpu';
import type { HvcEntry } from './dispatcher';
import { cap, capInit, inInit } from './lookup';
import { num, setWords, u32, type Regs } from './regs';

/** virq_t is a 32-bit type: the upper register half is ignored, an out-of-range number is invalid. */
export function virqNumber(r: Regs, i: number): number {
  return r[2 * i]!;
}

function bindVirq(get: (o: never) => import('../irq/virq-source').VirqSource, type: ObjectType, right: number): HvcEntry['fn'] {
  return (_hv, v, r) => {
    const o = cap(v, r, 0, type, right);
    if (typeof o === 'number') return o;
    const vic = cap<Vic>(v, r, 1, ObjectType.VIC, Rights.vic.BIND_SOURCE);
    if (typeof vic === 'number') return vic;
    const virq = virqNumber(r, 2);
    if (virq < 0) return GhError.ARGUMENT_INVALID;
    return vic.bindShared(get(o as never), virq);
  };
}

function unbindVirq(get: (o: never) => import('../irq/virq-source').VirqSource, type: ObjectType, right: number): HvcEntry['fn'] {
  return (_hv, v, r) => {
    const o = cap(v, r, 0, type, right);
    if (typeof o === 'number') return o;
    const s = get(o as never);
    s.vic?.unbind(s);
    return GhError.OK;
  };
}

const DB = ObjectType.DOORBELL;
const MQ = ObjectType.MSGQUEUE;

function dbSend(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const db = cap<Doorbell>(v, r, 0, DB, Rights.doorbell.SEND);
  if (typeof db === 'number') return db;
  db.send(r[2]!, r[3]!);
  r[2] = db.oldLo;
  r[3] = db.oldHi;
  return GhError.OK;
}

function dbReceive(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const db = cap<Doorbell>(v, r, 0, DB, Rights.doorbell.RECEIVE);
  if (typeof db === 'number') return db;
  const err = db.receive(r[2]!, r[3]!);
  if (err !== GhError.OK) return err;
  r[2] = db.oldLo;
  r[3] = db.oldHi;
  return GhError.OK;
}

function dbReset(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const db = cap<Doorbell>(v, r, 0, DB, Rights.doorbell.RECEIVE);
  if (typeof db === 'number') return db;
  db.reset();
  return GhError.OK;
}

function dbMask(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const db = cap<Doorbell>(v, r, 0, DB, Rights.doorbell.RECEIVE);
  if (typeof db === 'number') return db;
  db.mask(r[2]!, r[3]!, r[4]!, r[5]!);
  return GhError.OK;
}

function mqSend(hv: Hypervisor, v: Vcpu, r: Regs): number {
  const mq = cap<Msgqueue>(v, r, 0, MQ, Rights.msgqueue.SEND);
  if (typeof mq === 'number') {
    setWords(r, 1, 0, 0);
    return mq;
  }
  const size = num(r, 1);
  const err = mq.send(v, size, num(r, 2), (u32(r, 3) & 1) !== 0);
  if (err === GhError.OK) hv.sched.charge(v, Math.ceil(size * MSGQ_COPY_NS_PER_BYTE));
  setWords(r, 1, mq.notFull ? 1 : 0, 0);
  return err;
}

function mqReceive(hv: Hypervisor, v: Vcpu, r: Regs): number {
  const mq = cap<Msgqueue>(v, r, 0, MQ, Rights.msgqueue.RECEIVE);
  if (typeof mq === 'number') {
    setWords(r, 1, 0, 0);
    setWords(r, 2, 0, 0);
    return mq;
  }
  const err = mq.receive(v, num(r, 1), num(r, 2));
  const size = err === GhError.OK ? mq.lastSize : 0;
  if (err === GhError.OK) hv.sched.charge(v, Math.ceil(size * MSGQ_COPY_NS_PER_BYTE));
  setWords(r, 1, size, 0);
  setWords(r, 2, mq.count !== 0 ? 1 : 0, 0);
  return err;
}

function mqFlush(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const mq = cap<Msgqueue>(v, r, 0, MQ, Rights.msgqueue.RECEIVE);
  if (typeof mq === 'number') return mq;
  mq.flush();
  return GhError.OK;
}

function mqConfigureSend(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const mq = cap<Msgqueue>(v, r, 0, MQ, Rights.msgqueue.SEND);
  if (typeof mq === 'number') return mq;
  return mq.configureSend(u32(r, 1), u32(r, 2));
}

function mqConfigureReceive(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const mq = cap<Msgqueue>(v, r, 0, MQ, Rights.msgqueue.RECEIVE);
  if (typeof mq === 'number') return mq;
  return mq.configureReceive(u32(r, 1), u32(r, 2));
}

function mqConfigure(_hv: Hypervisor, v: Vcpu, r: Regs): number {
  const mq = capInit<Msgqueue>(v, r, 0, MQ, RIGHT_OBJECT_ACTIVATE);
  if (typeof mq === 'number') return mq;
  const st = inInit(mq);
  if (st !== GhError.OK) return st;
  // create_info: depth in bits 15:0, max message size in 31:16; the rest is ignored (unknown=0).
  const info = r[2]!;
  return mq.configure(info >>> 16, info & 0xffff);
}

export const ipcCalls: HvcEntry[] = [
  { n: Hvc.DOORBELL_BIND_VIRQ, nIn: 4, res0: [3], nOut: 1, fn: bindVirq((d: Doorbell) => d.source, DB, Rights.doorbell.BIND) },
  { n: Hvc.DOORBELL_UNBIND_VIRQ, nIn: 2, res0: [1], nOut: 1, fn: unbindVirq((d: Doorbell) => d.source, DB, Rights.doorbell.BIND) },
  { n: Hvc.DOORBELL_SEND, nIn: 3, res0: [2], nOut: 2, fn: dbSend },
  { n: Hvc.DOORBELL_RECEIVE, nIn: 3, res0: [2], nOut: 2, fn: dbReceive },
  { n: Hvc.DOORBELL_RESET, nIn: 2, res0: [1], nOut: 1, fn: dbReset },
  { n: Hvc.DOORBELL_MASK, nIn: 4, res0: [3], nOut: 1, fn: dbMask },
  { n: Hvc.MSGQUEUE_BIND_SEND_VIRQ, nIn: 4, res0: [3], nOut: 1, fn: bindVirq((m: Msgqueue) => m.sendSource, MQ, Rights.msgqueue.BIND_SEND) },
  { n: Hvc.MSGQUEUE_BIND_RECEIVE_VIRQ, nIn: 4, res0: [3], nOut: 1, fn: bindVirq((m: Msgqueue) => m.rcvSource, MQ, Rights.msgqueue.BIND_RECEIVE) },
  { n: Hvc.MSGQUEUE_UNBIND_SEND_VIRQ, nIn: 2, res0: [1], nOut: 1, fn: unbindVirq((m: Msgqueue) => m.sendSource, MQ, Rights.msgqueue.BIND_SEND) },
  { n: Hvc.MSGQUEUE_UNBIND_RECEIVE_VIRQ, nIn: 2, res0: [1], nOut: 1, fn: unbindVirq((m: Msgqueue) => m.rcvSource, MQ, Rights.msgqueue.BIND_RECEIVE) },
  { n: Hvc.MSGQUEUE_SEND, nIn: 5, res0: [4], nOut: 2, keepOutputs: true, fn: mqSend },
  { n: Hvc.MSGQUEUE_RECEIVE, nIn: 4, res0: [3], nOut: 3, keepOutputs: true, fn: mqReceive },
  { n: Hvc.MSGQUEUE_FLUSH, nIn: 2, res0: [1], nOut: 1, fn: mqFlush },
  { n: Hvc.MSGQUEUE_CONFIGURE_SEND, nIn: 4, res1: [3], nOut: 1, fn: mqConfigureSend },
  { n: Hvc.MSGQUEUE_CONFIGURE_RECEIVE, nIn: 4, res1: [3], nOut: 1, fn: mqConfigureReceive },
  { n: Hvc.MSGQUEUE_CONFIGURE, nIn: 3, res0: [2], nOut: 1, fn: mqConfigure },
];
