import type { TopicPartition } from '../../src/ports/subscriber.js';
import type { RawEntry } from './group-streams.js';

/** Pause before a rejected entry is read again, so a failing handler does not spin on Redis. */
export const RETRY_DELAY_MS = 200;

/**
 * The in-order handling of one owned partition. Entries are handled one at a time, in stream order; the
 * reader (one XREADGROUP loop for all partitions) refills the buffer only while the worker is idle.
 *
 * After a takeover, a rejected handler, a failed XACK or a `rewind` the worker is in `pending` mode: the reader re-reads
 * this member's own pending entries from id 0 (oldest first) until none is left, and only then asks for new
 * ones (`>`). That is how a rejected entry comes again before the later ones of its partition.
 */
export class PartitionWorker {
  readonly tp: TopicPartition;
  readonly stream: string;
  /** `pending`: read the own PEL after `pendingAfter`; `new`: read entries never delivered (`>`). */
  mode: 'pending' | 'new' = 'pending';
  pendingAfter = '0';
  readonly #deliver: (worker: PartitionWorker, entry: RawEntry) => Promise<boolean>;
  readonly #onIdle: () => void;
  #buffer: RawEntry[] = [];
  #running: Promise<void> | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  #rewound = false;

  /**
   * @param deliver hands one entry to the handler and acknowledges it; resolves false when the entry was not
   *   handled (rejected, or the XACK failed), which sends the worker back to its pending entries.
   * @param onIdle called when the worker wants more entries.
   */
  constructor(
    tp: TopicPartition,
    stream: string,
    deliver: (worker: PartitionWorker, entry: RawEntry) => Promise<boolean>,
    onIdle: () => void,
  ) {
    this.tp = tp;
    this.stream = stream;
    this.#deliver = deliver;
    this.#onIdle = onIdle;
  }

  /** Ready for more entries: started, not stopped, nothing buffered or in flight, no retry pause. */
  get idle(): boolean {
    return !this.#stopped && this.#buffer.length === 0 && !this.#running && !this.#retryTimer;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /**
   * Entries were added to this member's pending list from outside (claimed from another consumer): read the
   * pending list again from the start before any new entry. Also holds against a read already in flight,
   * whose `push` would otherwise move past them.
   */
  rewind(): void {
    this.#rewound = true;
    this.#rewindNow();
  }

  /** Entries read for this partition, in stream order. An empty pending read switches to new entries. */
  push(entries: readonly RawEntry[]): void {
    if (this.#stopped) return;
    const rewound = this.#rewound;
    this.#rewound = false;
    if (entries.length === 0) {
      if (this.mode === 'pending') this.mode = 'new';
      if (rewound) this.#rewindNow();
      return;
    }
    if (this.mode === 'pending') this.pendingAfter = entries[entries.length - 1]!.id;
    if (rewound) this.#rewindNow();
    this.#buffer.push(...entries);
    this.#running ??= this.#run().finally(() => {
      this.#running = undefined;
      if (!this.#stopped && this.idle) this.#onIdle();
    });
  }

  /**
   * Stops intake; resolves once the entry in flight settled (and was acknowledged). Buffered entries stay
   * pending in Redis, where the next owner claims them.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#buffer = [];
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    await this.#running;
  }

  #rewindNow(): void {
    this.mode = 'pending';
    this.pendingAfter = '0';
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      const entry = this.#buffer.shift();
      if (entry === undefined) return;
      if (await this.#deliver(this, entry)) continue;
      // Not handled: the entry and every later one we hold are still in our PEL; read them again from the
      // start, after a pause, so they come in order and the rejected one first.
      this.#buffer = [];
      this.mode = 'pending';
      this.pendingAfter = '0';
      if (this.#stopped) return;
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = undefined;
        if (!this.#stopped) this.#onIdle();
      }, RETRY_DELAY_MS);
      return;
    }
  }
}
