/**
 * mqgate's consumer SDK: `import { Consumer } from 'mqgate/sdk'`. See {@link Consumer} for the contract.
 */

export { MqgateError } from '../errors.js';
export type { TopicPartition } from '../ports/subscriber.js';
export { Consumer } from './consumer.js';
export { DEAD_LETTER_HEADERS, defaultDeadLetterTopic } from './dead-letter.js';
export type { DedupStore, HandledEntry } from './dedup-store.js';
export { NonRetriableError } from './non-retriable-error.js';
export type { RetryPolicy } from './retry-policy.js';
export type {
  ConsumerEvents,
  ConsumerOptions,
  DeadLetterEvent,
  DeadLetterOptions,
  DedupOptions,
  GapEvent,
  Handler,
  HandlerContext,
  IteratedMessage,
  Message,
  RebalanceEvent,
} from './types.js';
