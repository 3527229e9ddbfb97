/**
 * A bounded map that forgets the least recently used entry once it holds `maxEntries`. Writing (`set`) counts
 * as use; reading (`get`, `has`) does not, so a hot read path costs one lookup instead of a delete and a
 * re-insert (for the inbox, an id is "used" when it is handled, which is when it is written). Built on `Map`'s
 * insertion order: O(1) for every operation.
 */
export class Lru<K, V> {
  readonly #entries = new Map<K, V>();

  constructor(readonly maxEntries: number) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`maxEntries must be a positive integer, got ${maxEntries}`);
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  has(key: K): boolean {
    return this.#entries.has(key);
  }

  get(key: K): V | undefined {
    return this.#entries.get(key);
  }

  /** Stores the value as the most recently used entry, evicting the oldest one when full. */
  set(key: K, value: V): void {
    this.#entries.delete(key);
    this.#entries.set(key, value);
    if (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
  }

  clear(): void {
    this.#entries.clear();
  }
}
