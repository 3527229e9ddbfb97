/**
 * Stream names. One stream per topic partition: `mqgate:{<topic>:<partition>}`.
 *
 * The braces are a Redis Cluster hash tag around topic and partition together, so that in a cluster the
 * partitions of one topic spread over shards like Kafka partitions over brokers. The price: a command that
 * touches several partitions (one XREADGROUP over many streams) must be split by slot in a cluster. On a
 * single server or behind Sentinel, which is what mqgate connects to today, tags change nothing.
 * Topic names cannot contain braces (see `isValidTopic`), so the tag is always well formed.
 */
export function streamKey(topic: string, partition: number): string {
  return `mqgate:{${topic}:${partition}}`;
}

/** Every stream key of a topic, partition 0 first. */
export function streamKeys(topic: string, partitions: number): string[] {
  return Array.from({ length: partitions }, (_, p) => streamKey(topic, p));
}
