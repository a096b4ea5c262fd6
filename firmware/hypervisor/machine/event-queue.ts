// The simulation's event queue: a binary heap ordered by (virtual time, insertion sequence), so
// simultaneous events run in the order they were posted and every run is reproducible.

export type EventFn = () => void;

export class EventQueue {
  private times: number[] = [];
  private seqs: number[] = [];
  private fns: EventFn[] = [];
  private nextSeq = 0;

  get size(): number {
    return this.times.length;
  }

  /** Time of the earliest event, or Infinity. */
  peekTime(): number {
    return this.times.length > 0 ? this.times[0]! : Infinity;
  }

  push(time: number, fn: EventFn): void {
    const seq = this.nextSeq++;
    let i = this.times.length;
    this.times.push(time);
    this.seqs.push(seq);
    this.fns.push(fn);
    // Sift up.
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.times[p]! < time || (this.times[p] === time && this.seqs[p]! < seq)) break;
      this.times[i] = this.times[p]!;
      this.seqs[i] = this.seqs[p]!;
      this.fns[i] = this.fns[p]!;
      i = p;
    }
    this.times[i] = time;
    this.seqs[i] = seq;
    this.fns[i] = fn;
  }

  /** Remove the earliest event; returns its function (its time was `peekTime()`). */
  pop(): EventFn | undefined {
    const n = this.times.length;
    if (n === 0) return undefined;
    const top = this.fns[0]!;
    const lt = this.times.pop()!;
    const ls = this.seqs.pop()!;
    const lf = this.fns.pop()!;
    if (n > 1) {
      // Sift the last element down from the root.
      let i = 0;
      const m = n - 1;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= m) break;
        const r = l + 1;
        let c = l;
        if (r < m && (this.times[r]! < this.times[l]! || (this.times[r] === this.times[l] && this.seqs[r]! < this.seqs[l]!))) c = r;
        if (lt < this.times[c]! || (lt === this.times[c] && ls < this.seqs[c]!)) break;
        this.times[i] = this.times[c]!;
        this.seqs[i] = this.seqs[c]!;
        this.fns[i] = this.fns[c]!;
        i = c;
      }
      this.times[i] = lt;
      this.seqs[i] = ls;
      this.fns[i] = lf;
    }
    return top;
  }
}
