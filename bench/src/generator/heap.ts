/** Something due at a simulated time (epoch ms). */
export interface Due {
  at: number;
}

/**
 * A four-ary min-heap on `at`. The generator keeps every open session here, so it yields requests
 * in simulated-time order without sorting the whole run. With hundreds of thousands of open
 * sessions the heap dominates the generation cost, hence: keys in a typed array beside the items
 * (comparing through object pointers missed the cache on every level), four children a node (half
 * the levels of a binary heap, siblings side by side in memory), and no tie-breaking sequence
 * number (equal times leave in an order fixed by the operations so far, which is all that
 * determinism needs).
 */
export class DueHeap<T extends Due> {
  #items: (T | undefined)[] = [];
  #keys = new Float64Array(1024);
  #size = 0;

  get size(): number {
    return this.#size;
  }

  peek(): T | undefined {
    return this.#size > 0 ? this.#items[0] : undefined;
  }

  push(item: T): void {
    if (this.#size === this.#keys.length) {
      const keys = new Float64Array(this.#keys.length * 2);
      keys.set(this.#keys);
      this.#keys = keys;
    }
    const items = this.#items;
    const keys = this.#keys;
    const at = item.at;
    let index = this.#size++;
    while (index > 0) {
      const parent = (index - 1) >>> 2;
      const parentAt = keys[parent]!;
      if (parentAt <= at) break;
      items[index] = items[parent];
      keys[index] = parentAt;
      index = parent;
    }
    items[index] = item;
    keys[index] = at;
  }

  pop(): T | undefined {
    if (this.#size === 0) return undefined;
    const top = this.#items[0];
    const size = --this.#size;
    const last = this.#items[size]!;
    this.#items[size] = undefined;
    if (size > 0) this.#siftDown(last, this.#keys[size]!);
    return top;
  }

  /**
   * Pops the top and pushes `item` in one pass. A session that goes on is rescheduled this way:
   * one walk down the heap instead of a walk down and one up.
   */
  replaceTop(item: T): void {
    if (this.#size === 0) this.push(item);
    else this.#siftDown(item, item.at);
  }

  /** Puts `item` (due at `at`) into the hole at the root and moves it down to where it belongs. */
  #siftDown(item: T, at: number): void {
    const items = this.#items;
    const keys = this.#keys;
    const size = this.#size;
    let index = 0;
    for (;;) {
      const first = 4 * index + 1;
      if (first >= size) break;
      let child = first;
      let childAt = keys[first]!;
      const stop = Math.min(first + 4, size);
      for (let other = first + 1; other < stop; other++) {
        const otherAt = keys[other]!;
        if (otherAt < childAt) {
          child = other;
          childAt = otherAt;
        }
      }
      if (at <= childAt) break;
      items[index] = items[child];
      keys[index] = childAt;
      index = child;
    }
    items[index] = item;
    keys[index] = at;
  }
}
