// Partitions: the owners of physical memory (in the memdb) and the heaps objects are allocated from.
import { GhError } from '../abi/errors';
import { ObjectType } from '../abi/objects';
import type { Hypervisor } from '../hypervisor';
import { KObject } from './kobject';

/** Heap a partition created by partition_create_partition may use (taken from its parent's). */
export const CHILD_PARTITION_HEAP = 4 * 1024 * 1024;

export class Partition extends KObject {
  readonly type = ObjectType.PARTITION;
  private heapLeft: number;

  constructor(
    hv: Hypervisor,
    parent: Partition | null,
    /** Heap taken from the parent (returned when this partition goes). */
    private readonly heapFromParent: number,
  ) {
    super(hv, parent);
    this.heapLeft = heapFromParent;
  }

  protected override onCleanup(): void {
    this.partition?.freeHeap(this.heapFromParent);
  }

  allocHeap(bytes: number): boolean {
    if (bytes > this.heapLeft) return false;
    this.heapLeft -= bytes;
    return true;
  }

  freeHeap(bytes: number): void {
    this.heapLeft += bytes;
  }

  get heapAvailable(): number {
    return this.heapLeft;
  }

  protected override onActivate(): number {
    return GhError.OK;
  }
}
