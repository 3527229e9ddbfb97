import type { Envelope } from '../../../src/envelope.js';

/** What the publisher saw: every message the gateway answered 202 for, with its seq. */
export interface Acked {
  readonly id: string;
  readonly key: string;
  readonly seq: number;
}

export interface Accounting {
  sent: number;
  acked: number;
  /** Publishes answered 5xx (allowed only past the outbox budget). */
  refused: number;
  deliveredPerBackend: Record<string, number>;
  /** Acked but found on no backend. */
  lost: string[];
  /** Ids found more than once (on one backend or across backends). */
  duplicated: number;
  /** Found on a backend but never acked by the gateway. */
  unexpected: string[];
  /** Keys whose messages on one backend are not in increasing seq order (first copies). */
  reorderedKeys: string[];
  /** Keys whose merged seqs (what an SDK re-sequencing by seq sees) have a gap. */
  gappedKeys: string[];
}

/**
 * The Jepsen-style check: compares what the gateway acknowledged with what every backend holds.
 */
export function account(
  sent: number,
  refused: number,
  acked: readonly Acked[],
  byBackend: Record<string, readonly Envelope[]>,
): Accounting {
  const ackedIds = new Map(acked.map((a) => [a.id, a]));
  const copies = new Map<string, number>();
  const reordered = new Set<string>();
  const deliveredPerBackend: Record<string, number> = {};
  const seqsByKey = new Map<string, Set<number>>();
  for (const [backend, envs] of Object.entries(byBackend)) {
    deliveredPerBackend[backend] = envs.length;
    const lastSeq = new Map<string, number>();
    const seenHere = new Set<string>();
    for (const env of envs) {
      copies.set(env.id, (copies.get(env.id) ?? 0) + 1);
      const key = env.key ?? '';
      if (!seqsByKey.has(key)) seqsByKey.set(key, new Set());
      seqsByKey.get(key)!.add(env.seq);
      if (seenHere.has(env.id)) continue; // a resent copy on the same backend may repeat an earlier seq
      seenHere.add(env.id);
      const last = lastSeq.get(key) ?? 0;
      if (env.seq < last) reordered.add(`${backend}:${key}`);
      lastSeq.set(key, Math.max(last, env.seq));
    }
  }
  const lost = [...ackedIds.keys()].filter((id) => !copies.has(id));
  const unexpected = [...copies.keys()].filter((id) => !ackedIds.has(id));
  let duplicated = 0;
  for (const n of copies.values()) if (n > 1) duplicated += n - 1;
  const ackedByKey = new Map<string, number>();
  for (const a of acked) ackedByKey.set(a.key, Math.max(ackedByKey.get(a.key) ?? 0, a.seq));
  const gappedKeys: string[] = [];
  for (const [key, maxSeq] of ackedByKey) {
    const have = seqsByKey.get(key) ?? new Set();
    for (let s = 1; s <= maxSeq; s++) {
      if (!have.has(s)) {
        gappedKeys.push(key);
        break;
      }
    }
  }
  return {
    sent,
    acked: acked.length,
    refused,
    deliveredPerBackend,
    lost,
    duplicated,
    unexpected,
    reorderedKeys: [...reordered],
    gappedKeys,
  };
}

/** One line a scenario prints, for the CI log. */
export function report(scenario: string, a: Accounting): string {
  const per = Object.entries(a.deliveredPerBackend)
    .map(([b, n]) => `${b}=${n}`)
    .join(' ');
  return (
    `chaos[${scenario}]: sent=${a.sent} acked=${a.acked} refused=${a.refused} delivered{${per}} ` +
    `lost=${a.lost.length} duplicated=${a.duplicated} unexpected=${a.unexpected.length} ` +
    `reordered=${a.reorderedKeys.length} gapped=${a.gappedKeys.length}`
  );
}
