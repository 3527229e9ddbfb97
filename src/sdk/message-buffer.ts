/**
 * A FIFO between the handlers and `for await`: handlers push and wait for the user's ack/nack, the iterator
 * pulls. Its size is bounded by the consumer's concurrency (each item is a running handler), so a slow loop
 * body holds back intake: backpressure without a separate limit.
 */
export class MessageBuffer<T> {
  readonly #items: T[] = [];
  readonly #waiters: ((result: IteratorResult<T>) => void)[] = [];
  #ended = false;

  get size(): number {
    return this.#items.length;
  }

  push(item: T): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter({ value: item, done: false });
    else this.#items.push(item);
  }

  /** The next item, or done once `end()` was called and nothing is left. */
  next(): Promise<IteratorResult<T>> {
    const item = this.#items.shift();
    if (item !== undefined) return Promise.resolve({ value: item, done: false });
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Ends iteration; returns the items nobody took, so the caller can give them back. */
  end(): T[] {
    this.#ended = true;
    for (const waiter of this.#waiters.splice(0)) waiter({ value: undefined, done: true });
    return this.#items.splice(0);
  }
}
