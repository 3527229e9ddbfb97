import type { TopicPartition } from '../ports/subscriber.js';

/**
 * Partition assignment for backends without one of their own (Redis streams, RabbitMQ): a pure function of
 * the live members and the partitions, so every member computes the same answer from the same view, with no
 * leader and no extra round trip.
 *
 * Rule: members sorted by id; the (topic, partition) pairs sorted by topic then partition; pair j goes to
 * member j mod n. Counts differ by at most one, and with one topic partition i goes to member i mod n.
 * Members of one group are expected to subscribe to the same topics (as with Kafka's round-robin assignor).
 */
export function assignPartitions(
  members: readonly string[],
  topics: readonly string[],
  partitions: number,
): Map<string, TopicPartition[]> {
  const sorted = [...new Set(members)].sort();
  const result = new Map<string, TopicPartition[]>(sorted.map((m) => [m, []]));
  if (sorted.length === 0) return result;
  let j = 0;
  for (const topic of [...new Set(topics)].sort()) {
    for (let partition = 0; partition < partitions; partition++) {
      result.get(sorted[j % sorted.length]!)!.push({ topic, partition });
      j++;
    }
  }
  return result;
}

/** A stable string key of a topic partition, for sets and maps. */
export function tpKey(tp: TopicPartition): string {
  return `${tp.partition}:${tp.topic}`;
}

/** What a member must give up and take to go from `owned` to `desired`. */
export function diffAssignment(
  owned: readonly TopicPartition[],
  desired: readonly TopicPartition[],
): { revoke: TopicPartition[]; acquire: TopicPartition[] } {
  const want = new Set(desired.map(tpKey));
  const have = new Set(owned.map(tpKey));
  return {
    revoke: owned.filter((tp) => !want.has(tpKey(tp))),
    acquire: desired.filter((tp) => !have.has(tpKey(tp))),
  };
}
