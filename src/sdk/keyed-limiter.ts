/**
 * Runs tasks with at most `concurrency` at once and never two tasks of the same key at once; tasks of one key
 * start in the order they were submitted. Keyless tasks (`key` undefined) only count against the limit.
 * A waiting task takes no slot, so a busy key never starves other keys of slots.
 */
export class KeyedLimiter {
  readonly #concurrency: number;
  #running = 0;
  readonly #busyKeys = new Set<string>();
  /** Tasks waiting, in submission order. */
  readonly #queue: { key: string | undefined; start: () => void }[] = [];

  constructor(concurrency: number) {
    if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
      throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
    }
    this.#concurrency = concurrency;
  }

  /** Tasks running now. */
  get running(): number {
    return this.#running;
  }

  /** Tasks waiting for a slot or for their key. */
  get waiting(): number {
    return this.#queue.length;
  }

  /** Runs `task` once a slot and its key are free; settles as the task does. */
  run<T>(key: string | undefined, task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        this.#running++;
        if (key !== undefined) this.#busyKeys.add(key);
        task()
          .then(resolve, reject)
          .finally(() => {
            this.#running--;
            if (key !== undefined) this.#busyKeys.delete(key);
            this.#pump();
          });
      };
      this.#queue.push({ key, start });
      this.#pump();
    });
  }

  #pump(): void {
    // Keys seen earlier in this pass: a later task of the same key must not overtake an earlier one.
    const blocked = new Set<string>();
    for (let i = 0; i < this.#queue.length && this.#running < this.#concurrency; ) {
      const entry = this.#queue[i] as { key: string | undefined; start: () => void };
      const free = entry.key === undefined || (!this.#busyKeys.has(entry.key) && !blocked.has(entry.key));
      if (free) {
        this.#queue.splice(i, 1);
        entry.start();
      } else {
        if (entry.key !== undefined) blocked.add(entry.key);
        i++;
      }
    }
  }
}
