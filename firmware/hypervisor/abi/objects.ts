// Object types, lifecycle states and capability rights (spec §5, §6; `.tc` files of the hypervisor).

/** First-class object types. The numeric values are ours (the wire never carries them). */
export enum ObjectType {
  PARTITION = 1,
  CSPACE,
  ADDRSPACE,
  MEMEXTENT,
  THREAD,
  DOORBELL,
  MSGQUEUE,
  VIC,
  VPM_GROUP,
  HWIRQ,
}

export enum ObjectState {
  NONE = 0,
  INIT = 1,
  ACTIVE = 2,
  FAILED = 3,
  DESTROYING = 4,
}

/** Generic right on every cap: configure/attach in INIT and activate. */
export const RIGHT_OBJECT_ACTIVATE = 0x8000_0000;

export const Rights = {
  partition: { OBJECT_CREATE: 1 << 0, DONATE: 1 << 1 },
  cspace: { CAP_CREATE: 1 << 0, CAP_DELETE: 1 << 1, CAP_COPY: 1 << 2, ATTACH: 1 << 3, CAP_REVOKE: 1 << 4 },
  addrspace: { ATTACH: 1 << 0, MAP: 1 << 1, LOOKUP: 1 << 2, ADD_VMMIO_RANGE: 1 << 3 },
  memextent: { MAP: 1 << 0, DERIVE: 1 << 1, ATTACH: 1 << 2, LOOKUP: 1 << 3, DONATE: 1 << 4 },
  thread: {
    POWER: 1 << 0,
    AFFINITY: 1 << 1,
    PRIORITY: 1 << 2,
    TIMESLICE: 1 << 3,
    YIELD_TO: 1 << 4,
    BIND_VIRQ: 1 << 5,
    STATE: 1 << 6,
    LIFECYCLE: 1 << 7,
    WRITE_CONTEXT: 1 << 8,
    DISABLE: 1 << 9,
  },
  doorbell: { SEND: 1 << 0, RECEIVE: 1 << 1, BIND: 1 << 2 },
  msgqueue: { SEND: 1 << 0, RECEIVE: 1 << 1, BIND_SEND: 1 << 2, BIND_RECEIVE: 1 << 3 },
  vic: { BIND_SOURCE: 1 << 0, ATTACH_VCPU: 1 << 1, ATTACH_VDEVICE: 1 << 2 },
  /** BindVic is bit 1 in the code (the API doc says bit 0). */
  hwirq: { BIND_VIC: 1 << 1 },
  vpmGroup: { ATTACH_VCPU: 1 << 0, BIND_VIRQ: 1 << 1, QUERY: 1 << 2 },
} as const;

function all(r: Record<string, number>): number {
  return (Object.values(r).reduce((a, b) => a | b, 0) | RIGHT_OBJECT_ACTIVATE) >>> 0;
}

/** The rights of a master cap: every right the type defines, plus Object Activate. */
export const ALL_RIGHTS: Readonly<Record<ObjectType, number>> = {
  [ObjectType.PARTITION]: all(Rights.partition),
  [ObjectType.CSPACE]: all(Rights.cspace),
  [ObjectType.ADDRSPACE]: all(Rights.addrspace),
  [ObjectType.MEMEXTENT]: all(Rights.memextent),
  [ObjectType.THREAD]: all(Rights.thread),
  [ObjectType.DOORBELL]: all(Rights.doorbell),
  [ObjectType.MSGQUEUE]: all(Rights.msgqueue),
  [ObjectType.VIC]: all(Rights.vic),
  [ObjectType.VPM_GROUP]: all(Rights.vpmGroup),
  [ObjectType.HWIRQ]: all(Rights.hwirq),
};

export function objectTypeName(t: ObjectType): string {
  return ObjectType[t]?.toLowerCase() ?? `type${t}`;
}
