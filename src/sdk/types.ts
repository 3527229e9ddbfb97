import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import type { TopicPartition } from '../ports/subscriber.js';
import type { RetryPolicy } from './retry-policy.js';

/** A message as the handler sees it. */
export interface Message {
  /** The message id: the same across retries, redeliveries and backends. */
  readonly id: string;
  readonly topic: string;
  readonly key: string | undefined;
  /** Per-(topic, key) sequence number assigned by the gateway's outbox. */
  readonly seq: number;
  readonly headers: Readonly<Record<string, string>>;
  /** Parsed JSON when `contentType` is JSON (`application/json`, `*+json`), else the raw bytes. */
  readonly data: unknown;
  /** The payload bytes as published. */
  readonly raw: Buffer;
  readonly contentType: string;
  /** CloudEvents attributes. */
  readonly type: string;
  readonly source: string;
  readonly time: string;
  /** CloudEvents `subject`, when the publisher set one. */
  readonly subject?: string | undefined;
  /** W3C trace context of the publishing request, when it had one. */
  readonly traceparent?: string | undefined;
  /** Handler attempt in this consumer, 1 on the first call. */
  readonly attempt: number;
  /** The backend (config name) the message was read from. */
  readonly backend: string;
  readonly partition: number | undefined;
  readonly offset: string | undefined;
}

/** A message of `for await (const msg of consumer)`: settle it with `ack()` or `nack()`. */
export interface IteratedMessage extends Message {
  /** Handled: the message is recorded in the inbox and acknowledged to the broker. */
  ack(): void;
  /** Failed: retried with backoff; a NonRetriableError dead-letters it at once. */
  nack(error?: unknown): void;
}

/** Passed to the handler beside the message. */
export interface HandlerContext {
  /** Aborted when `close()` gives up waiting for the handler (its timeout passed). */
  readonly signal: AbortSignal;
  readonly logger: Logger;
}

/** Returning acknowledges; throwing retries; throwing a NonRetriableError dead-letters at once. */
export type Handler = (message: Message, context: HandlerContext) => Promise<void>;

/** Where the inbox (dedup by message id and last seq per key) is kept. */
export type DedupOptions =
  | { readonly store: 'memory'; readonly maxEntries?: number }
  /** A SQLite file (better-sqlite3); share it between the group's processes on one host. */
  | { readonly store: 'sqlite'; readonly path: string };

/** Where dead letters go: by default `<topic>.dlq` on the backend the message came from. */
export type DeadLetterOptions = { readonly topic?: (topic: string) => string } | false;

export interface ConsumerOptions {
  /** A loaded Config, a config file path, or undefined for `loadConfig()` (MQGATE_CONFIG, then the default). */
  readonly config?: Config | string | undefined;
  /** The consumer group: members of one group share the topics' partitions. */
  readonly group: string;
  readonly topics: readonly string[];
  /** Handlers running at once (default 16). Also bounds the async iterator's buffer. */
  readonly concurrency?: number;
  /** Re-sequence each key's messages by seq across backends (default true). */
  readonly ordered?: boolean;
  readonly dedup?: DedupOptions;
  readonly retry?: Partial<RetryPolicy>;
  readonly deadLetter?: DeadLetterOptions;
  /** How long a key waits for a missing seq before the `gap` event (default 5 s). */
  readonly gapTimeoutMs?: number;
  /**
   * How long a member may be silent before the group gives its partitions away; by default each backend's
   * own (Kafka 10 s, at least the broker's `group.min.session.timeout.ms`; Redis and RabbitMQ 4 s).
   */
  readonly sessionTimeoutMs?: number;
  readonly logger?: Logger;
}

/** A change of this member's partitions on one backend. */
export interface RebalanceEvent {
  readonly backend: string;
  readonly assigned: readonly TopicPartition[];
  readonly revoked: readonly TopicPartition[];
}

export interface DeadLetterEvent {
  readonly message: Message;
  readonly error: unknown;
  /** The topic the message was written to. */
  readonly topic: string;
}

export interface GapEvent {
  readonly topic: string;
  readonly key: string;
  readonly expectedSeq: number;
  readonly gotSeq: number;
}

/** The consumer's events (Node EventEmitter, typed). */
export interface ConsumerEvents {
  rebalance: [RebalanceEvent];
  /** Only emitted when someone listens; otherwise logged (an unheard `error` would crash the process). */
  error: [Error];
  'dead-letter': [DeadLetterEvent];
  gap: [GapEvent];
}
