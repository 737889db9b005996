/**
 * The engine's pending sends, earliest first: a binary min-heap of (due time, send id) in two
 * typed arrays. Thousands of users each send several times a second; one timer per send would
 * cost far more than popping what is due every tick, and typed arrays keep the heap out of the
 * garbage collector's way.
 */
export class SendSchedule {
  private dueUs = new Float64Array(1024);
  private ids = new Int32Array(1024);
  size = 0;

  add(dueUs: number, id: number): void {
    if (this.size === this.dueUs.length) this.grow();
    const { dueUs: due, ids } = this;
    let slot = this.size++;
    while (slot > 0) {
      const parent = (slot - 1) >> 1;
      if (due[parent] <= dueUs) break;
      due[slot] = due[parent];
      ids[slot] = ids[parent];
      slot = parent;
    }
    due[slot] = dueUs;
    ids[slot] = id;
  }

  /** When the earliest send is due (µs), or Infinity when nothing is scheduled. */
  nextDueUs(): number {
    return this.size ? this.dueUs[0] : Infinity;
  }

  nextId(): number {
    return this.ids[0];
  }

  /** Removes the earliest send. */
  removeNext(): void {
    const { dueUs: due, ids } = this;
    const last = --this.size;
    if (last === 0) return;
    const movedDue = due[last];
    const movedId = ids[last];
    let slot = 0;
    for (;;) {
      let child = 2 * slot + 1;
      if (child >= last) break;
      if (child + 1 < last && due[child + 1] < due[child]) child++;
      if (due[child] >= movedDue) break;
      due[slot] = due[child];
      ids[slot] = ids[child];
      slot = child;
    }
    due[slot] = movedDue;
    ids[slot] = movedId;
  }

  private grow(): void {
    const due = new Float64Array(this.size * 2);
    due.set(this.dueUs);
    this.dueUs = due;
    const ids = new Int32Array(this.size * 2);
    ids.set(this.ids);
    this.ids = ids;
  }
}
