import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';

/** How long a partition waits for a nacked message to come back before it moves on (see `#reject`). */
const REDELIVERY_WAIT_MS = 2_000;

/** What became of one delivery: acked, to be delivered again, or to be dead-lettered. */
export type Outcome = 'ack' | 'requeue' | 'dead-letter';

/**
 * Consumes one group queue (one topic partition) on a channel of its own, handing messages on one at a
 * time in queue order; up to `prefetch` wait unacknowledged in memory.
 *
 * Requeue order: a nacked message of a quorum queue goes back to the head (RabbitMQ keeps returned messages
 * in a queue served before the rest), but the messages already prefetched behind it are in our buffer. So
 * after a nack the consumer holds its buffer until the same message comes back (same message id, a later
 * delivery tag), and handles it first. If it never comes (it went over `x-delivery-limit` and was
 * dead-lettered) the consumer moves on after REDELIVERY_WAIT_MS. Only the nacked message is returned, so
 * the delivery limit counts that message's failures, not its neighbours'.
 */
export class QueueConsumer {
  readonly #model: ChannelModel;
  readonly #queue: string;
  readonly #prefetch: number;
  readonly #handle: (msg: ConsumeMessage) => Promise<Outcome>;
  readonly #onError: (err: unknown) => void;
  #channel: Channel | undefined;
  #buffer: ConsumeMessage[] = [];
  #running: Promise<void> | undefined;
  #waitFor: { id: unknown; afterTag: number; timer: NodeJS.Timeout } | undefined;
  #stopped = false;
  #starting: Promise<void> | undefined;

  constructor(
    model: ChannelModel,
    queue: string,
    prefetch: number,
    handle: (msg: ConsumeMessage) => Promise<Outcome>,
    onError: (err: unknown) => void,
  ) {
    this.#model = model;
    this.#queue = queue;
    this.#prefetch = prefetch;
    this.#handle = handle;
    this.#onError = onError;
  }

  /** Opens the channel and registers the consumer; a `release()` meanwhile closes it again. */
  start(): Promise<void> {
    this.#starting ??= this.#open();
    return this.#starting;
  }

  async #open(): Promise<void> {
    if (this.#stopped) return;
    const channel = await this.#model.createChannel();
    this.#channel = channel;
    channel.on('error', (err: unknown) => this.#onError(err));
    // Per consumer (global=false): the bound on what this partition holds unacknowledged.
    await channel.prefetch(this.#prefetch, false);
    if (this.#stopped) return;
    await channel.consume(this.#queue, (msg) => this.#receive(msg), { noAck: false });
  }

  /** Stops handing messages on; resolves once the one in flight settled (acked or nacked). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#waitFor?.timer);
    await this.#running;
  }

  /**
   * Closes the channel: the broker returns what is still unacknowledged (to the head of the queue) and
   * single-active-consumer hands the queue to the next member's consumer.
   */
  async release(): Promise<void> {
    this.#stopped = true;
    this.#buffer = [];
    // A consumer still being registered would otherwise stay active on the queue and hold it (SAC).
    await this.#starting?.catch(() => undefined);
    await this.#channel?.close().catch(() => undefined);
    this.#channel = undefined;
  }

  #receive(msg: ConsumeMessage | null): void {
    // null: the broker cancelled the consumer (queue deleted); nothing more will come on it.
    if (msg === null) {
      this.#onError(new Error(`consumer of ${this.#queue} cancelled by the broker`));
      return;
    }
    this.#buffer.push(msg);
    this.#pump();
  }

  #next(): ConsumeMessage | undefined {
    const waiting = this.#waitFor;
    if (waiting === undefined) return this.#buffer.shift();
    const i = this.#buffer.findIndex(
      (m) => m.properties.messageId === waiting.id && m.fields.deliveryTag > waiting.afterTag,
    );
    if (i < 0) return undefined;
    clearTimeout(waiting.timer);
    this.#waitFor = undefined;
    return this.#buffer.splice(i, 1)[0];
  }

  #pump(): void {
    if (this.#running || this.#stopped) return;
    const msg = this.#next();
    if (msg === undefined) return;
    this.#running = this.#settle(msg).finally(() => {
      this.#running = undefined;
      this.#pump();
    });
  }

  async #settle(msg: ConsumeMessage): Promise<void> {
    const outcome = await this.#handle(msg);
    const channel = this.#channel;
    if (channel === undefined) return;
    try {
      if (outcome === 'ack') channel.ack(msg);
      else if (outcome === 'dead-letter') channel.nack(msg, false, false);
      else this.#reject(channel, msg);
    } catch (err) {
      // The channel closed under us: the broker requeues what we did not settle.
      this.#onError(err);
    }
  }

  #reject(channel: Channel, msg: ConsumeMessage): void {
    channel.nack(msg, false, true);
    const timer = setTimeout(() => {
      this.#waitFor = undefined;
      this.#pump();
    }, REDELIVERY_WAIT_MS);
    this.#waitFor = { id: msg.properties.messageId, afterTag: msg.fields.deliveryTag, timer };
  }
}
