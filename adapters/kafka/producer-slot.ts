import type { Kafka, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { MqgateError } from '../../src/errors.js';
import { producerConfig } from './config.js';

/** One kafkajs producer instance and its connection. */
export interface ProducerLease {
  readonly producer: Producer;
}

interface Slot extends ProducerLease {
  readonly ready: Promise<void>;
}

/**
 * Holds the current producer and replaces it after a failed send.
 *
 * Why replace it: kafkajs assigns sequence numbers per partition before a produce request and takes them back
 * when the request fails (src/producer/sendMessages.js). If the broker had in fact written the batch (a
 * timeout, a lost connection, or one partition of a multi-partition request failing), the producer's
 * sequence is now behind the broker's: the next batch of the same size is taken for a duplicate and
 * acknowledged without being written (silent loss), or a different size fails with
 * OUT_OF_ORDER_SEQUENCE_NUMBER forever (https://github.com/tulios/kafkajs/issues/598). A new producer gets a
 * new producer id from the broker, with sequences from zero. The messages of the failed send are retried by
 * the relay under the same ids (at-least-once; the SDK deduplicates by id).
 */
export class ProducerSlot {
  #slot: Slot | undefined;
  #closed = false;
  readonly #retiring = new Set<Promise<void>>();

  constructor(
    private readonly kafka: Kafka,
    private readonly logger: Logger,
  ) {}

  /** The connected producer, creating and connecting one if needed; rejects as kafkajs' connect does. */
  async acquire(): Promise<ProducerLease> {
    if (this.#closed) {
      throw new MqgateError('MQGATE_ERR_BACKEND_UNAVAILABLE', 'kafka backend is closed', { retriable: true });
    }
    let slot = this.#slot;
    if (!slot) {
      const producer = this.kafka.producer(producerConfig());
      const ready = producer.connect();
      slot = { producer, ready };
      this.#slot = slot;
      const created = slot;
      ready.catch(() => {
        // A failed connect leaves nothing to reuse; the next acquire starts afresh.
        if (this.#slot === created) this.#slot = undefined;
        this.#disconnect(created);
      });
    }
    await slot.ready;
    return slot;
  }

  /** Drops a producer after a failed send (see the class comment). A stale lease is ignored. */
  retire(lease: ProducerLease): void {
    const slot = this.#slot;
    if (slot === undefined || slot !== lease) return;
    this.#slot = undefined;
    this.logger.debug('replacing the kafka producer after a failed send');
    this.#disconnect(slot);
  }

  /** Disconnects the current producer and any being retired; later `acquire()` calls reject. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    const slot = this.#slot;
    this.#slot = undefined;
    if (slot) this.#disconnect(slot);
    await Promise.all([...this.#retiring]);
  }

  #disconnect(slot: Slot): void {
    // Only after connect() settled: a disconnect during kafkajs' connect would be undone by it, leaving a
    // socket open. kafkajs' disconnect fails the slot's in-flight requests (retriable outcomes).
    const done = slot.ready
      .catch(() => undefined)
      .then(() => slot.producer.disconnect())
      .catch((err: unknown) => {
        this.logger.debug({ err: String(err) }, 'kafka producer disconnect failed');
      });
    this.#retiring.add(done);
    void done.finally(() => this.#retiring.delete(done));
  }
}
