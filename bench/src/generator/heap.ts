/** Something due at a simulated time; `seq` breaks ties in push order so the output stays deterministic. */
export interface Due {
  at: number;
  seq: number;
}

/** Whether `a` comes before `b`, for choosing between the tops of two heaps. */
export function isBefore(a: Due, b: Due): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/**
 * A binary min-heap on (at, seq). The generator keeps every open session and pending retry here,
 * so it yields requests in simulated-time order without sorting the whole run. The keys live in
 * typed arrays beside the items: with hundreds of thousands of open sessions, comparing keys
 * through object pointers missed the cache on every level and halved the generation rate.
 */
export class DueHeap<T extends Due> {
  #items: (T | undefined)[] = [];
  #at = new Float64Array(1024);
  #seq = new Float64Array(1024);
  #size = 0;

  get size(): number {
    return this.#size;
  }

  peek(): T | undefined {
    return this.#size > 0 ? this.#items[0] : undefined;
  }

  push(item: T): void {
    if (this.#size === this.#at.length) this.#grow();
    const items = this.#items;
    const atKeys = this.#at;
    const seqKeys = this.#seq;
    const at = item.at;
    const seq = item.seq;
    let index = this.#size++;
    while (index > 0) {
      const parent = (index - 1) >>> 1;
      const parentAt = atKeys[parent]!;
      if (parentAt < at || (parentAt === at && seqKeys[parent]! < seq)) break;
      items[index] = items[parent];
      atKeys[index] = parentAt;
      seqKeys[index] = seqKeys[parent]!;
      index = parent;
    }
    items[index] = item;
    atKeys[index] = at;
    seqKeys[index] = seq;
  }

  pop(): T | undefined {
    if (this.#size === 0) return undefined;
    const top = this.#items[0];
    const size = --this.#size;
    const last = this.#items[size]!;
    this.#items[size] = undefined;
    if (size > 0) this.#siftDown(last, this.#at[size]!, this.#seq[size]!);
    return top;
  }

  /**
   * Pops the top and pushes `item` in one pass. A session that goes on is rescheduled this way:
   * one walk down the heap instead of a walk down and one up.
   */
  replaceTop(item: T): void {
    if (this.#size === 0) this.push(item);
    else this.#siftDown(item, item.at, item.seq);
  }

  /** Places `item` with keys (at, seq) at the root's hole and moves it down to where it belongs. */
  #siftDown(item: T, at: number, seq: number): void {
    const items = this.#items;
    const atKeys = this.#at;
    const seqKeys = this.#seq;
    const size = this.#size;
    let index = 0;
    for (;;) {
      let child = 2 * index + 1;
      if (child >= size) break;
      const right = child + 1;
      if (
        right < size &&
        (atKeys[right]! < atKeys[child]! ||
          (atKeys[right] === atKeys[child] && seqKeys[right]! < seqKeys[child]!))
      ) {
        child = right;
      }
      const childAt = atKeys[child]!;
      if (at < childAt || (at === childAt && seq < seqKeys[child]!)) break;
      items[index] = items[child];
      atKeys[index] = childAt;
      seqKeys[index] = seqKeys[child]!;
      index = child;
    }
    items[index] = item;
    atKeys[index] = at;
    seqKeys[index] = seq;
  }

  #grow(): void {
    const at = new Float64Array(this.#at.length * 2);
    at.set(this.#at);
    this.#at = at;
    const seq = new Float64Array(this.#seq.length * 2);
    seq.set(this.#seq);
    this.#seq = seq;
  }
}
