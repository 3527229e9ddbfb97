/**
 * The message envelope that travels from the HTTP API through the outbox to every backend, compatible with
 * CloudEvents 1.0 (`key` is the `partitionkey` extension, `seq` the `sequence` extension).
 */

export interface Envelope {
  /** Client idempotency key or a generated UUIDv7; the same across retries and across backends. */
  readonly id: string;
  readonly topic: string;
  /** Partition key; messages with the same key on a topic keep their publish order. */
  readonly key?: string | undefined;
  /** Per-(topic, key) sequence number assigned by the outbox, starting at 1. */
  readonly seq: number;
  /** CloudEvents `type`. */
  readonly type: string;
  /** CloudEvents `source`. */
  readonly source: string;
  readonly subject?: string | undefined;
  /** RFC 3339 time the gateway accepted the message. */
  readonly time: string;
  /** Media type of `data` (`application/json` keeps JSON payloads as JSON). */
  readonly datacontenttype: string;
  /** User headers: a string map, names lower-case. */
  readonly headers: Readonly<Record<string, string>>;
  /** The payload bytes, exactly as accepted. */
  readonly data: Buffer;
  /** W3C trace context of the publishing request, when it had one. */
  readonly traceparent?: string | undefined;
  /** Delivery attempt, 1 on the first try. */
  readonly attempt: number;
}

export const DEFAULT_TYPE = 'mqgate.message';
export const DEFAULT_SOURCE = 'mqgate';

/** Kafka's topic rule: 1..249 characters of `[A-Za-z0-9._-]`; mqgate also refuses a leading dot. */
/** Kafka's topic characters, no leading dot, unanchored (for route-path parameters). */
export const TOPIC_CHARS = '[A-Za-z0-9_-][A-Za-z0-9._-]{0,248}';
/** The same, anchored (for JSON schemas). */
export const TOPIC_PATTERN = `^${TOPIC_CHARS}$`;
const TOPIC_RE = new RegExp(TOPIC_PATTERN);

export function isValidTopic(topic: string): boolean {
  return TOPIC_RE.test(topic) && topic !== '.' && topic !== '..';
}

/**
 * The partition of a key among `partitions`, the same on every backend so that a key stays on one partition
 * wherever its messages go. Keyless messages spread by id. FNV-1a 32-bit: fast, stable, well spread.
 */
export function partitionOf(keyOrId: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < keyOrId.length; i++) {
    hash ^= keyOrId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitions;
}
