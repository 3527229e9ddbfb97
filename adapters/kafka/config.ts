import type { KafkaConfig, LogEntry, ProducerConfig, RetryOptions, SASLOptions } from 'kafkajs';
import kafkajs from 'kafkajs';
import type { Logger } from 'pino';
import type { KafkaBackendConfig } from '../../src/config/types.js';

// kafkajs is CommonJS and Node's ESM loader does not see most of its named exports (ConfigResourceTypes,
// the error classes), so everything comes through the default export.
const { logLevel } = kafkajs;

/**
 * Timeouts and retry bounds of the Kafka adapter. They are deliberately short: the relay has its own
 * publish timeout (10 s by default) and retries with backoff, so kafkajs must give up quickly and hand the
 * outcome back rather than retry for minutes.
 */
export const KAFKA_TIMEOUTS = {
  /** TCP connect to one broker. */
  connectionMs: 3_000,
  /** One request (metadata, produce, create topics) on an open connection. */
  requestMs: 5_000,
  /** How long the leader waits for the in-sync replicas (acks=-1) before answering a produce. */
  ackMs: 5_000,
  /** Hard bound on one produce round, retries included; past it the producer is replaced. */
  sendMs: 8_000,
  /** No new produce round starts once a `publish()` call is this old. */
  publishBudgetMs: 9_000,
  /** Topic creation, leaders included. */
  createTopicMs: 10_000,
  /** `probe()` answers within this. */
  probeMs: 2_000,
} as const;

/** kafkajs retries: a few quick attempts (about 1 s in all), then the error comes back to us. */
export const KAFKA_RETRY: RetryOptions = { retries: 3, initialRetryTime: 100, maxRetryTime: 1_000 };

/** The broker's default `max.message.bytes` (1 MiB + 12), used until the topic's own value is known. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

/** kafkajs client options for a backend: brokers, TLS, SASL, bounded timeouts, logs into pino. */
export function kafkaClientConfig(config: KafkaBackendConfig, logger: Logger): KafkaConfig {
  return {
    clientId: config.clientId,
    brokers: [...config.brokers],
    ssl: config.ssl,
    ...(config.sasl ? { sasl: saslOptions(config.sasl) } : {}),
    connectionTimeout: KAFKA_TIMEOUTS.connectionMs,
    requestTimeout: KAFKA_TIMEOUTS.requestMs,
    enforceRequestTimeout: true,
    retry: KAFKA_RETRY,
    logLevel: logLevel.WARN,
    logCreator: () => (entry) => forwardLog(logger, entry),
  };
}

/**
 * Producer options: NOT idempotent, one request in flight per broker connection (so a retried request never
 * overtakes the next one), no auto-creation (topics are made by `ensureTopic` with the
 * configured partitions, never with the broker's `num.partitions`), and an explicit partitioner.
 */
export function producerConfig(): ProducerConfig {
  return {
    // kafkajs' idempotent producer can acknowledge a record it never wrote: after a request fails, it takes
    // back the sequence numbers it used, and a concurrent or later send reusing them is answered by the
    // broker as a DUPLICATE_SEQUENCE_NUMBER with the earlier batch's offset (tulios/kafkajs#598). The chaos
    // suite saw exactly that (a message marked delivered at an offset holding another one) when the broker
    // was paused mid-send. Without idempotence a retried request can only write a duplicate, which the relay
    // already allows (at-least-once, same id) and consumers drop by id. Losing a message is not allowed.
    idempotent: false,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    retry: KAFKA_RETRY,
    // Every record carries its partition (partitionOf, the same on every backend); kafkajs' default
    // partitioner would honour it too, but would also log its "default partitioner changed" warning.
    createPartitioner: () => (args) => args.message.partition ?? 0,
  };
}

// kafkajs warns when an idempotent producer's retries are bounded; kept quiet in case idempotence is ever
// turned back on (retries are bounded on purpose: publish must answer in time).
const QUIET = [/Limiting retries for the idempotent producer/];

function saslOptions(sasl: NonNullable<KafkaBackendConfig['sasl']>): SASLOptions {
  const { username, password } = sasl;
  switch (sasl.mechanism) {
    case 'plain':
      return { mechanism: 'plain', username, password };
    case 'scram-sha-256':
      return { mechanism: 'scram-sha-256', username, password };
    case 'scram-sha-512':
      return { mechanism: 'scram-sha-512', username, password };
  }
}

function forwardLog(logger: Logger, entry: LogEntry): void {
  const { message, timestamp: _timestamp, ...extra } = entry.log;
  if (QUIET.some((re) => re.test(message))) return;
  const fields = { kafkajs: entry.namespace, ...redact(extra) };
  // kafkajs logs at ERROR each failure it is about to retry; the adapter maps the final outcome itself, so
  // these are warnings about the broker, not errors of the gateway. Connection attempts are logged twice per
  // retry while a broker is down (probes run every 500 ms): they stay at debug, the probe error says it.
  const noisy = entry.namespace === 'Connection' || entry.namespace === 'BrokerPool';
  if (!noisy && (entry.level === logLevel.ERROR || entry.level === logLevel.WARN))
    logger.warn(fields, message);
  else logger.debug(fields, message);
}

function redact(extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(extra)) out[k] = /password|sasl|secret/i.test(k) ? '[redacted]' : v;
  return out;
}
