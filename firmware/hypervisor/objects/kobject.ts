// The common header of every first-class object: type, lifecycle state, owning partition, the list
// of valid caps naming it and the references other objects hold (spec §5).
import { GhError } from '../abi/errors';
import { ObjectState, type ObjectType } from '../abi/objects';
import type { Hypervisor } from '../hypervisor';
import type { CapSlot } from './cap-slot';

/** Heap bytes an object costs its partition (rough sizes of the C structures; bounds hostile allocation). */
export const OBJECT_HEAP_COST = 512;

export abstract class KObject {
  abstract readonly type: ObjectType;
  state: ObjectState = ObjectState.INIT;
  /** A deterministic serial number (trace, invariant reports). */
  readonly id: number;
  /** Valid caps naming this object; the master cap, while it exists, is first. */
  readonly caps: CapSlot[] = [];
  /** References held by other objects and by the scheduler (caps collectively hold one more). */
  refs = 0;
  /** Heap bytes charged to the partition, returned on destruction. */
  protected heapCharged = 0;

  constructor(
    readonly hv: Hypervisor,
    readonly partition: import('./partition').Partition | null,
  ) {
    this.id = hv.nextObjectId++;
    hv.objects.add(this);
    // Objects keep their partition alive (object_get_partition_additional), and creation calls
    // check the partition has this much heap before constructing.
    partition?.get();
    this.chargeHeap(OBJECT_HEAP_COST);
  }

  get alive(): boolean {
    return this.state !== ObjectState.DESTROYING && this.state !== ObjectState.NONE;
  }

  /** INIT -> ACTIVE (or FAILED, terminal) running the type's activate handler; OBJECT_STATE unless INIT. */
  activate(): number {
    if (this.state !== ObjectState.INIT) return GhError.OBJECT_STATE;
    const err = this.onActivate();
    this.state = err === GhError.OK ? ObjectState.ACTIVE : ObjectState.FAILED;
    this.hv.trace.objectState(this, err);
    return err;
  }

  /** Checks and allocations of activation; a non-OK result leaves the object FAILED. */
  protected onActivate(): number {
    return GhError.OK;
  }
  /** Undo activation side effects (unbind VIRQs, detach, free buffers). Runs only for ACTIVE objects. */
  protected onDeactivate(): void {}
  /** Release references taken in INIT (configure/attach), for every state. */
  protected onCleanup(): void {}

  /** Take an additional reference (an attachment). */
  get(): void {
    this.refs++;
  }

  /** Drop a reference; the object is destroyed when neither caps nor references remain. */
  put(): void {
    this.refs--;
    this.maybeDestroy();
  }

  maybeDestroy(): void {
    if (this.caps.length === 0 && this.refs <= 0 && this.alive) this.destroy();
  }

  private destroy(): void {
    const wasActive = this.state === ObjectState.ACTIVE;
    this.state = ObjectState.DESTROYING;
    this.hv.trace.objectState(this, GhError.OK);
    if (wasActive) this.onDeactivate();
    this.onCleanup();
    if (this.partition && this.heapCharged > 0) this.partition.freeHeap(this.heapCharged);
    this.heapCharged = 0;
    this.hv.objects.delete(this);
    this.partition?.put();
  }

  /** Charge `bytes` of heap to the owning partition; false (NOMEM) when it has too little left. */
  chargeHeap(bytes: number): boolean {
    if (!this.partition) return true;
    if (!this.partition.allocHeap(bytes)) return false;
    this.heapCharged += bytes;
    return true;
  }

  releaseHeap(bytes: number): void {
    if (!this.partition) return;
    const n = Math.min(bytes, this.heapCharged);
    this.partition.freeHeap(n);
    this.heapCharged -= n;
  }
}
