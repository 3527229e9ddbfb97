import type { EventEmitter } from 'node:events';
import type { DeliveryReceipt } from '../ports/backend.js';
import type { Outbox } from '../ports/outbox.js';

export type WaitResult =
  | { readonly state: 'delivered'; readonly backend: string; readonly receipt: DeliveryReceipt }
  | { readonly state: 'dead'; readonly error: { readonly code: string; readonly message: string } };

interface Waiter {
  resolve(result: WaitResult | undefined): void;
  timer: NodeJS.Timeout;
}

/** Lets HTTP requests (`?wait=delivered`) wait for one message's fate, fed by the relay's events. */
export class DeliveryWaiters {
  readonly #waiters = new Map<string, Set<Waiter>>();
  readonly #outbox: Outbox;

  constructor(outbox: Outbox, events: EventEmitter) {
    this.#outbox = outbox;
    events.on('delivered', (e: { id: string; backend: string; receipt: DeliveryReceipt }) =>
      this.#settle(e.id, { state: 'delivered', backend: e.backend, receipt: e.receipt }),
    );
    events.on('failed', (e: { id: string; dead: boolean; error: { code: string; message: string } }) => {
      if (e.dead)
        this.#settle(e.id, { state: 'dead', error: { code: e.error.code, message: e.error.message } });
    });
  }

  async wait(id: string, timeoutMs: number): Promise<WaitResult | undefined> {
    const result = new Promise<WaitResult | undefined>((resolve) => {
      const waiter: Waiter = {
        resolve,
        timer: setTimeout(() => this.#remove(id, waiter, undefined), timeoutMs),
      };
      const set = this.#waiters.get(id) ?? new Set();
      set.add(waiter);
      this.#waiters.set(id, set);
    });
    // The message may have been settled before the waiter existed.
    const status = await this.#outbox.get(id);
    if (status?.state === 'delivered' && status.backend !== undefined) {
      const receipt: DeliveryReceipt = {
        ...(status.partition !== undefined ? { partition: status.partition } : {}),
        ...(status.offset !== undefined ? { offset: status.offset } : {}),
      };
      this.#settle(id, { state: 'delivered', backend: status.backend, receipt });
    } else if (status?.state === 'dead' && status.error !== undefined) {
      this.#settle(id, { state: 'dead', error: status.error });
    }
    return result;
  }

  close(): void {
    for (const [id, set] of this.#waiters) for (const w of set) this.#remove(id, w, undefined);
  }

  #settle(id: string, result: WaitResult): void {
    const set = this.#waiters.get(id);
    if (set === undefined) return;
    for (const w of set) this.#remove(id, w, result);
  }

  #remove(id: string, waiter: Waiter, result: WaitResult | undefined): void {
    clearTimeout(waiter.timer);
    const set = this.#waiters.get(id);
    set?.delete(waiter);
    if (set?.size === 0) this.#waiters.delete(id);
    waiter.resolve(result);
  }
}
