import type { ConfirmChannel, Message } from 'amqplib';
import type { Logger } from 'pino';
import type { Envelope } from '../../src/envelope.js';
import type { ErrorContext, MqgateError } from '../../src/errors.js';
import type { PublishOutcome } from '../../src/ports/backend.js';
import { type EncodedMessage, encode } from './codec.js';
import type { ResolvedRabbitmqConfig } from './config.js';
import type { RabbitConnection, Session } from './connection.js';
import { mapAmqpError, rabbitError } from './errors.js';

/** How one published message ended on the channel. */
type Confirm = { kind: 'ack' } | { kind: 'nack' } | { kind: 'closed' } | { kind: 'timeout' };

/** Message ids returned (basic.return) per channel and not yet matched with their ack. */
const returnsByChannel = new WeakMap<ConfirmChannel, Map<string, number>>();

function returnsOf(channel: ConfirmChannel, log: Logger): Map<string, number> {
  let returns = returnsByChannel.get(channel);
  if (!returns) {
    const map = new Map<string, number>();
    returns = map;
    returnsByChannel.set(channel, map);
    // RabbitMQ sends basic.return before the basic.ack of the same message, on the same channel, so the
    // ack callback can tell whether its message was routed (https://www.rabbitmq.com/docs/confirms).
    channel.on('return', (msg: Message) => {
      const id = String(msg.properties.messageId ?? '');
      map.set(id, (map.get(id) ?? 0) + 1);
      log.warn({ id, routingKey: msg.fields.routingKey }, 'message returned unroutable');
    });
  }
  return returns;
}

function isNack(err: unknown): boolean {
  return err instanceof Error && err.message === 'message nacked';
}

function takeReturn(returns: Map<string, number>, id: string): boolean {
  const n = returns.get(id);
  if (!n) return false;
  if (n === 1) returns.delete(id);
  else returns.set(id, n - 1);
  return true;
}

/**
 * Publishes batches on the connection's confirm channel. All messages of a batch go out in order on one
 * channel (so per-key order holds), then each waits for its confirm; the outcomes resolve only after that.
 * Never rejects: anything that stops a confirm from arriving becomes a retriable failure of that message.
 */
export class RabbitPublisher {
  readonly #config: ResolvedRabbitmqConfig;
  readonly #connection: RabbitConnection;
  readonly #ensureTopic: (topic: string) => Promise<void>;
  readonly #log: Logger;

  constructor(
    config: ResolvedRabbitmqConfig,
    connection: RabbitConnection,
    ensureTopic: (topic: string) => Promise<void>,
    logger: Logger,
  ) {
    this.#config = config;
    this.#connection = connection;
    this.#ensureTopic = ensureTopic;
    this.#log = logger;
  }

  async publish(batch: readonly Envelope[]): Promise<PublishOutcome[]> {
    const outcomes: (PublishOutcome | undefined)[] = batch.map(() => undefined);
    const encoded = batch.map((env, i) => {
      const msg = encode(env, this.#config.partitions);
      if (msg.sizeBytes > this.#config.options.maxMessageBytes) {
        outcomes[i] = this.#fail(env, 'MQGATE_ERR_MESSAGE_TOO_LARGE', this.#tooLarge(msg));
      }
      return msg;
    });
    const failRest = (error: (env: Envelope) => MqgateError): PublishOutcome[] =>
      batch.map((env, i) => outcomes[i] ?? { ok: false, error: error(env) });

    const recent = this.#connection.session ? undefined : this.#connection.recentFailure();
    if (recent) return failRest((env) => this.#withContext(recent, env));
    let session: Session;
    try {
      session = await this.#connection.open();
    } catch (err) {
      return failRest((env) => mapAmqpError(err, this.#context(env), 'connecting'));
    }
    if (session.blocked) {
      return failRest((env) =>
        rabbitError(
          'MQGATE_ERR_BACKEND_UNAVAILABLE',
          'connection blocked by a broker alarm',
          this.#context(env),
        ),
      );
    }
    // Listen for returns before the first publish: one may arrive while we wait for 'drain'.
    const returns = returnsOf(session.channel, this.#log);
    await this.#ensureTopics(session, batch, outcomes);

    const confirms: (Promise<Confirm> | undefined)[] = batch.map(() => undefined);
    let stalled = false;
    for (let i = 0; i < batch.length; i++) {
      if (outcomes[i] || session.closed) continue;
      if (stalled) {
        confirms[i] = Promise.resolve({ kind: 'timeout' });
        continue;
      }
      const msg = encoded[i]!;
      let writable = true;
      confirms[i] = new Promise<Confirm>((resolve) => {
        try {
          writable = session.channel.publish(
            this.#config.exchange,
            msg.routingKey,
            msg.content,
            msg.options,
            // amqplib calls back with null on basic.ack, Error('message nacked') on basic.nack, and
            // Error('channel closed') for every unconfirmed message when the channel closes.
            (err: unknown) => resolve(err ? { kind: isNack(err) ? 'nack' : 'closed' } : { kind: 'ack' }),
          );
        } catch {
          // amqplib throws IllegalOperationError when the channel closed under us.
          resolve({ kind: 'closed' });
        }
      });
      // The socket's buffer is full: wait until it drains before writing more (channel flow control).
      if (!writable) stalled = !(await this.#drained(session));
    }
    return this.#settle(batch, encoded, confirms, outcomes, session, returns);
  }

  async #settle(
    batch: readonly Envelope[],
    encoded: readonly EncodedMessage[],
    confirms: readonly (Promise<Confirm> | undefined)[],
    outcomes: (PublishOutcome | undefined)[],
    session: Session,
    returns: Map<string, number>,
  ): Promise<PublishOutcome[]> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<Confirm>((resolve) => {
      timer = setTimeout(() => resolve({ kind: 'timeout' }), this.#config.options.confirmTimeoutMs);
    });
    try {
      return await Promise.all(
        batch.map(async (env, i): Promise<PublishOutcome> => {
          const done = outcomes[i];
          if (done) return done;
          const confirm = confirms[i];
          const result = confirm ? await Promise.race([confirm, deadline]) : ({ kind: 'closed' } as const);
          return this.#outcome(session, env, encoded[i]!, result, returns);
        }),
      );
    } finally {
      clearTimeout(timer);
    }
  }

  #outcome(
    session: Session,
    env: Envelope,
    msg: EncodedMessage,
    result: Confirm,
    returns: Map<string, number>,
  ): PublishOutcome {
    const ctx = this.#context(env);
    switch (result.kind) {
      case 'ack':
        if (takeReturn(returns, env.id)) {
          // Not even a parking queue took it: the topology is gone. Declare it again before the retry.
          session.ensured.delete(env.topic);
          return this.#fail(env, 'MQGATE_ERR_BACKEND_REJECTED', `no queue bound for ${msg.routingKey}`, true);
        }
        return { ok: true, receipt: { partition: msg.partition } };
      case 'nack':
        // RabbitMQ nacks only when a queue could not take the message (a queue process failure, or a
        // reject-publish overflow): another attempt, later or on another backend, may well succeed.
        return this.#fail(env, 'MQGATE_ERR_BACKEND_REJECTED', 'broker nacked the message', true);
      case 'timeout':
        return {
          ok: false,
          error: rabbitError(
            'MQGATE_ERR_BACKEND_TIMEOUT',
            `no confirm within ${this.#config.options.confirmTimeoutMs} ms`,
            ctx,
          ),
        };
      case 'closed': {
        const reason = session.closeReason ? `: ${session.closeReason.message}` : '';
        return this.#fail(
          env,
          'MQGATE_ERR_BACKEND_UNAVAILABLE',
          `channel closed before the confirm${reason}`,
        );
      }
    }
  }

  async #ensureTopics(
    session: Session,
    batch: readonly Envelope[],
    outcomes: (PublishOutcome | undefined)[],
  ): Promise<void> {
    for (const topic of new Set(batch.map((env) => env.topic))) {
      if (session.ensured.has(topic)) continue;
      try {
        await this.#ensureTopic(topic);
      } catch (err) {
        batch.forEach((env, i) => {
          if (env.topic === topic && !outcomes[i]) {
            outcomes[i] = { ok: false, error: mapAmqpError(err, this.#context(env), 'declaring the topic') };
          }
        });
      }
    }
  }

  /**
   * Resolves true on 'drain'; false when the channel closes or `confirmTimeoutMs` passes first (then the
   * messages not yet written fail instead of piling up in memory).
   */
  #drained(session: Session): Promise<boolean> {
    const { channel } = session;
    return new Promise<boolean>((resolve) => {
      const finish = (drained: boolean): void => {
        clearTimeout(timer);
        channel.off('drain', onDrain);
        channel.off('close', onClose);
        resolve(drained);
      };
      const onDrain = (): void => finish(true);
      const onClose = (): void => finish(false);
      const timer = setTimeout(onClose, this.#config.options.confirmTimeoutMs);
      channel.once('drain', onDrain);
      channel.once('close', onClose);
    });
  }

  #tooLarge(msg: EncodedMessage): string {
    return `message of ${msg.sizeBytes} bytes is over the limit of ${this.#config.options.maxMessageBytes} bytes`;
  }

  #fail(
    env: Envelope,
    code: 'MQGATE_ERR_MESSAGE_TOO_LARGE' | 'MQGATE_ERR_BACKEND_REJECTED' | 'MQGATE_ERR_BACKEND_UNAVAILABLE',
    message: string,
    retriable?: boolean,
  ): PublishOutcome {
    const options = retriable === undefined ? {} : { retriable };
    return { ok: false, error: rabbitError(code, message, this.#context(env), options) };
  }

  #context(env: Envelope): ErrorContext {
    return { backend: this.#config.name, topic: env.topic, id: env.id, attempt: env.attempt };
  }

  #withContext(error: MqgateError, env: Envelope): MqgateError {
    return rabbitError(error.code, error.message, this.#context(env), {
      cause: error,
      retriable: error.retriable,
    });
  }
}
