// One capability slot: which object, with which rights, master or not, valid or revoked (spec §6).
import type { ObjectType } from '../abi/objects';
import type { CSpace } from './cspace';
import type { KObject } from './kobject';

export const CapState = { VALID: 1, REVOKED: 2 } as const;

export class CapSlot {
  constructor(
    readonly cspace: CSpace,
    /** Internal cap value: table index << 8 | slot index. */
    readonly value: number,
    public object: KObject | null,
    readonly type: ObjectType,
    public rights: number,
    readonly master: boolean,
    public state: number = CapState.VALID,
  ) {}
}
