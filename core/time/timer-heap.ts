// A min-heap of timers ordered by (deadline, insertion sequence), with O(log n) cancel by handle.

export interface TimerEntry {
  deadline: number;
  seq: number;
  fn: () => void;
  /** Heap slot, -1 once fired or cancelled. */
  slot: number;
}

export class TimerHeap {
  private readonly heap: TimerEntry[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  peek(): TimerEntry | undefined {
    return this.heap[0];
  }

  push(deadline: number, fn: () => void): TimerEntry {
    const e: TimerEntry = { deadline, seq: this.seq++, fn, slot: this.heap.length };
    this.heap.push(e);
    this.up(e.slot);
    return e;
  }

  pop(): TimerEntry | undefined {
    const top = this.heap[0];
    if (top) this.removeAt(0);
    return top;
  }

  /** Remove `e` if it is still queued; returns whether it was. */
  remove(e: TimerEntry): boolean {
    if (e.slot < 0 || this.heap[e.slot] !== e) return false;
    this.removeAt(e.slot);
    return true;
  }

  private removeAt(i: number): void {
    const h = this.heap;
    const gone = h[i]!;
    const last = h.pop()!;
    gone.slot = -1;
    if (i < h.length) {
      h[i] = last;
      last.slot = i;
      this.down(i);
      this.up(last.slot);
    }
  }

  private less(a: TimerEntry, b: TimerEntry): boolean {
    return a.deadline < b.deadline || (a.deadline === b.deadline && a.seq < b.seq);
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      this.swap(i, p);
      i = p;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
      if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }

  private swap(a: number, b: number): void {
    const h = this.heap;
    const x = h[a]!;
    const y = h[b]!;
    h[a] = y;
    h[b] = x;
    x.slot = b;
    y.slot = a;
  }
}
