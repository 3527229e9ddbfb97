import { Lru } from './lru.js';

/**
 * The consumer group's inbox: which message ids it has handled, and the last handled `seq` of each
 * (topic, key). A record is written only after the handler succeeded (or the message was dead-lettered),
 * so a crash mid-handler redelivers the message: at-least-once delivery plus this record is effectively-once
 * processing. Synchronous on purpose: both stores answer from memory or a local file in microseconds.
 */
export interface DedupStore {
  /** Whether the group already handled this message id. */
  has(id: string): boolean;
  /** The last handled seq of a (topic, key), or undefined when none is known. */
  lastSeq(topic: string, key: string): number | undefined;
  /** Records a handled message; `seq` moves the key's last seq forward only (never back). */
  record(entry: HandledEntry): void;
  /**
   * Forgets last seqs that another member may have moved past (called after a rebalance). A store shared by
   * the whole group keeps them: it is never behind.
   */
  forgetSeqs(): void;
  /** Releases the store's resources. Idempotent. */
  close(): void;
}

/** A message the group has handled. */
export interface HandledEntry {
  readonly id: string;
  readonly topic: string;
  readonly key?: string | undefined;
  readonly seq: number;
}

/** The (topic, key) pair as one map key; `\u0000` cannot occur in a topic name. */
export function seqKey(topic: string, key: string): string {
  return `${topic}\u0000${key}`;
}

/**
 * The default store: ids and last seqs in two LRUs of `maxEntries` each, lost on restart. After a restart a
 * redelivered message is handled again (at-least-once); use the SQLite store when that matters.
 */
export class MemoryDedupStore implements DedupStore {
  readonly #ids: Lru<string, true>;
  readonly #seqs: Lru<string, number>;

  constructor(maxEntries: number) {
    this.#ids = new Lru(maxEntries);
    this.#seqs = new Lru(maxEntries);
  }

  has(id: string): boolean {
    return this.#ids.has(id);
  }

  lastSeq(topic: string, key: string): number | undefined {
    return this.#seqs.get(seqKey(topic, key));
  }

  record(entry: HandledEntry): void {
    this.#ids.set(entry.id, true);
    if (entry.key === undefined) return;
    const k = seqKey(entry.topic, entry.key);
    const last = this.#seqs.get(k);
    if (last === undefined || entry.seq > last) this.#seqs.set(k, entry.seq);
  }

  forgetSeqs(): void {
    this.#seqs.clear();
  }

  close(): void {
    this.#ids.clear();
    this.#seqs.clear();
  }
}
