/** The clock and timers the resequencer uses; injectable so unit tests drive time by hand. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** A keyed message waiting for its turn. */
export interface SequencedEntry<T> {
  readonly topic: string;
  readonly key: string;
  readonly seq: number;
  readonly value: T;
}

/** A key whose next message did not come within the gap timeout: `gotSeq` is handled anyway. */
export interface GapInfo {
  readonly topic: string;
  readonly key: string;
  readonly expectedSeq: number;
  readonly gotSeq: number;
}

export interface ResequencerOptions<T> {
  readonly gapTimeoutMs: number;
  /** The last handled seq of a key when the resequencer first sees it (from the dedup store). */
  readonly lastSeq: (topic: string, key: string) => number | undefined;
  /** Called when an entry's turn came; the caller handles it and then calls `done()`. */
  readonly onReady: (entry: SequencedEntry<T>) => void;
  readonly onGap: (gap: GapInfo) => void;
  readonly clock?: Clock;
}

interface KeyState<T> {
  last: number | undefined;
  /** The seq handed to `onReady` and not yet `done()`. */
  inFlight: number | undefined;
  /** Waiting entries, sorted by seq. */
  pending: SequencedEntry<T>[];
  timer: unknown;
}

/**
 * Re-sequences keyed messages by (topic, key, seq), one message per key at a time:
 * - `offer()` answers `stale` when seq <= the last handled one (the caller checks its dedup inbox: a known
 *   id is a duplicate, an unknown one a late message); otherwise the entry is accepted and handed to
 *   `onReady` when it is next: seq == last + 1, or no last seq is known.
 * - A later seq is held until the missing one arrives (from another backend) or `gapTimeoutMs` passed since
 *   the key started waiting; then `onGap` reports the gap and the lowest waiting entry is handed over.
 * - `done(handled = false)` leaves the last seq where it was: the backend redelivers that message, and
 *   later entries wait for it (or for the gap timeout).
 * Pure apart from the injected clock: no I/O.
 */
export class Resequencer<T> {
  readonly #opts: ResequencerOptions<T>;
  readonly #clock: Clock;
  readonly #keys = new Map<string, KeyState<T>>();

  constructor(options: ResequencerOptions<T>) {
    this.#opts = options;
    this.#clock = options.clock ?? systemClock;
  }

  /** Keys with a message in flight or waiting. */
  get activeKeys(): number {
    return this.#keys.size;
  }

  offer(entry: SequencedEntry<T>): 'accepted' | 'stale' {
    const id = stateId(entry.topic, entry.key);
    let st = this.#keys.get(id);
    if (!st) {
      st = {
        last: this.#opts.lastSeq(entry.topic, entry.key),
        inFlight: undefined,
        pending: [],
        timer: undefined,
      };
      this.#keys.set(id, st);
    }
    if (st.last !== undefined && entry.seq <= st.last) {
      this.#dropIfIdle(id, st);
      return 'stale';
    }
    const at = st.pending.findIndex((e) => e.seq > entry.seq);
    st.pending.splice(at < 0 ? st.pending.length : at, 0, entry);
    this.#pump(id, st);
    return 'accepted';
  }

  /** The entry handed to `onReady` finished; `handled` moves the key's last seq to it. */
  done(topic: string, key: string, seq: number, handled: boolean): void {
    const id = stateId(topic, key);
    const st = this.#keys.get(id);
    if (!st || st.inFlight !== seq) return;
    st.inFlight = undefined;
    if (handled && (st.last === undefined || seq > st.last)) st.last = seq;
    this.#pump(id, st);
  }

  /** Removes and returns the waiting entries that `match` (revoked partitions, close). */
  release(match: (entry: SequencedEntry<T>) => boolean): SequencedEntry<T>[] {
    const out: SequencedEntry<T>[] = [];
    for (const [id, st] of this.#keys) {
      const keep = st.pending.filter((e) => !match(e));
      if (keep.length === st.pending.length) continue;
      out.push(...st.pending.filter(match));
      st.pending = keep;
      this.#pump(id, st);
    }
    return out;
  }

  #pump(id: string, st: KeyState<T>): void {
    if (st.inFlight !== undefined) return;
    const head = st.pending[0];
    if (!head) {
      this.#clearTimer(st);
      this.#dropIfIdle(id, st);
      return;
    }
    if (st.last === undefined || head.seq <= st.last + 1) {
      this.#dispatch(st, head);
      return;
    }
    // A gap: wait for the missing seq, measured from when the key started waiting.
    st.timer ??= this.#clock.setTimeout(() => {
      st.timer = undefined;
      const first = st.pending[0];
      if (!first || st.inFlight !== undefined) return;
      this.#opts.onGap({
        topic: first.topic,
        key: first.key,
        expectedSeq: (st.last ?? 0) + 1,
        gotSeq: first.seq,
      });
      this.#dispatch(st, first);
    }, this.#opts.gapTimeoutMs);
  }

  #dispatch(st: KeyState<T>, entry: SequencedEntry<T>): void {
    this.#clearTimer(st);
    st.pending.shift();
    st.inFlight = entry.seq;
    this.#opts.onReady(entry);
  }

  #clearTimer(st: KeyState<T>): void {
    if (st.timer !== undefined) this.#clock.clearTimeout(st.timer);
    st.timer = undefined;
  }

  #dropIfIdle(id: string, st: KeyState<T>): void {
    // The last seq lives on in the dedup store; an idle key needs no memory here.
    if (st.inFlight === undefined && st.pending.length === 0 && st.timer === undefined) this.#keys.delete(id);
  }
}

function stateId(topic: string, key: string): string {
  return `${topic}\u0000${key}`;
}
