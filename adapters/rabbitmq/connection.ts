import { type Channel, type ChannelModel, type ConfirmChannel, connect } from 'amqplib';
import type { Logger } from 'pino';
import type { ErrorContext, MqgateError } from '../../src/errors.js';
import { dialUrl, type ResolvedRabbitmqConfig, redactUrl } from './config.js';
import { mapAmqpError, rabbitError, withTimeout } from './errors.js';
import { declareBase } from './topology.js';

/** One live AMQP connection with its publisher confirm channel. Dead once `closed` is set. */
export interface Session {
  readonly model: ChannelModel;
  readonly channel: ConfirmChannel;
  /** The URL it reached, redacted. */
  readonly url: string;
  /** Topics whose parking queues were declared on this connection. */
  readonly ensured: Set<string>;
  /** Set by a `connection.blocked` (resource alarm): publishes would stall until `unblocked`. */
  blocked: boolean;
  closed: boolean;
  /** Why it closed, when the broker or the socket said. */
  closeReason?: MqgateError;
}

/**
 * Owns the connection to the cluster. amqplib does not reconnect: when the connection or the confirm
 * channel closes, the session is marked dead, and the next `open()` dials the URLs again, in order, each
 * bounded by `connectTimeoutMs`. Every amqplib emitter gets an 'error' listener, so no event can crash the
 * process; errors are mapped and logged, never thrown from a listener.
 */
export class RabbitConnection {
  readonly #config: ResolvedRabbitmqConfig;
  readonly #log: Logger;
  readonly #context: ErrorContext;
  #session: Session | undefined;
  #opening: Promise<Session> | undefined;
  #lastFailure: { at: number; error: MqgateError } | undefined;
  #closed = false;

  constructor(config: ResolvedRabbitmqConfig, logger: Logger) {
    this.#config = config;
    this.#log = logger;
    this.#context = { backend: config.name };
  }

  /** The live session, if any. */
  get session(): Session | undefined {
    return this.#session && !this.#session.closed ? this.#session : undefined;
  }

  /** The error of a reconnect that failed less than `reconnectBackoffMs` ago, for failing fast. */
  recentFailure(now = Date.now()): MqgateError | undefined {
    const f = this.#lastFailure;
    return f && now - f.at < this.#config.options.reconnectBackoffMs ? f.error : undefined;
  }

  /** Returns the live session or opens one; concurrent callers share one attempt. Rejects with MqgateError. */
  async open(): Promise<Session> {
    if (this.#closed) throw rabbitError('MQGATE_ERR_BACKEND_UNAVAILABLE', 'backend is closed', this.#context);
    const live = this.session;
    if (live) return live;
    this.#opening ??= this.#dialAll().finally(() => {
      this.#opening = undefined;
    });
    return this.#opening;
  }

  /**
   * Runs `fn` on a short-lived plain channel, bounded by `requestTimeoutMs`. Topology requests and probes use
   * their own channel because a failed declare closes the channel it ran on (AMQP channel exception), and
   * that must not take the publisher's confirm channel and its unconfirmed messages down with it.
   */
  async withChannel<T>(
    what: string,
    fn: (channel: Channel, session: Session) => Promise<T>,
    timeoutMs?: number,
  ): Promise<T> {
    const session = await this.open();
    let channel: Channel | undefined;
    const run = async (): Promise<T> => {
      channel = await session.model.createChannel();
      channel.on('error', (err: unknown) => this.#log.debug({ err }, `${what}: channel error`));
      return fn(channel, session);
    };
    try {
      return await withTimeout(
        run(),
        timeoutMs ?? this.#config.options.requestTimeoutMs,
        what,
        this.#context,
      );
    } catch (err) {
      throw mapAmqpError(err, this.#context, what);
    } finally {
      // A channel the broker closed already rejects close(); either way it is gone.
      channel?.close().catch(() => {});
    }
  }

  /** Closes the session. Idempotent; waits for a connect in progress, bounded by `timeoutMs`. */
  async close(timeoutMs = 5_000): Promise<void> {
    this.#closed = true;
    // A dial that completes after this point closes its own connection (see #dialAll).
    if (this.#opening) {
      await withTimeout(this.#opening, timeoutMs, 'close', this.#context).catch(() => undefined);
    }
    const session = this.#session;
    this.#session = undefined;
    if (!session || session.closed) return;
    session.closed = true;
    try {
      await withTimeout(session.model.close(), timeoutMs, 'closing the connection', this.#context);
    } catch (err) {
      this.#log.debug({ err }, 'connection did not close cleanly');
    }
  }

  async #dialAll(): Promise<Session> {
    let last: MqgateError | undefined;
    for (const url of this.#config.urls) {
      try {
        const session = await this.#dial(url);
        if (this.#closed) {
          session.closed = true;
          await session.model.close().catch(() => {});
          throw rabbitError(
            'MQGATE_ERR_BACKEND_UNAVAILABLE',
            'backend closed while connecting',
            this.#context,
          );
        }
        this.#session = session;
        this.#lastFailure = undefined;
        this.#log.info({ url: session.url }, 'connected');
        return session;
      } catch (err) {
        last = mapAmqpError(
          err,
          { ...this.#context, url: redactUrl(url) },
          `connecting to ${redactUrl(url)}`,
        );
        this.#log.warn({ err: last }, 'connect failed');
        if (this.#closed) break;
      }
    }
    const error = last ?? rabbitError('MQGATE_ERR_CONFIG', 'no RabbitMQ urls configured', this.#context);
    this.#lastFailure = { at: Date.now(), error };
    throw error;
  }

  async #dial(url: string): Promise<Session> {
    const { connectTimeoutMs, heartbeatSec } = this.#config.options;
    const clientProperties = { connection_name: `mqgate:${this.#config.name}` };
    // amqplib's own `timeout` covers the socket and handshake; ours also covers the channel and topology.
    const dialing = connect(dialUrl(url, heartbeatSec), { timeout: connectTimeoutMs, clientProperties });
    let model: ChannelModel | undefined;
    const setUp = async (): Promise<Session> => {
      model = await dialing;
      const m = model;
      m.on('error', (err: unknown) => this.#log.warn({ err }, 'connection error'));
      const channel = await m.createConfirmChannel();
      const session: Session = {
        model: m,
        channel,
        url: redactUrl(url),
        ensured: new Set(),
        blocked: false,
        closed: false,
      };
      this.#watch(session);
      await declareBase(channel, this.#config);
      return session;
    };
    try {
      return await withTimeout(setUp(), connectTimeoutMs, `connecting to ${redactUrl(url)}`, this.#context);
    } catch (err) {
      // Late arrivals of a timed-out dial are closed, never leaked.
      dialing.then((m) => m.close().catch(() => {})).catch(() => {});
      throw err;
    }
  }

  #watch(session: Session): void {
    const { model, channel } = session;
    const dead = (reason: unknown, what: string): void => {
      if (session.closed) return;
      session.closed = true;
      if (reason !== undefined) session.closeReason = mapAmqpError(reason, this.#context, what);
      this.#log.warn(
        { err: session.closeReason, url: session.url },
        `${what} closed; will reconnect on demand`,
      );
      // A dead channel on a live connection: drop the connection too, so the next open() starts clean.
      model.close().catch(() => {});
    };
    let lastError: unknown;
    model.on('close', (err: unknown) => dead(err ?? lastError, 'connection'));
    model.on('blocked', (reason: unknown) => {
      session.blocked = true;
      this.#log.warn({ reason }, 'connection blocked by the broker (resource alarm)');
    });
    model.on('unblocked', () => {
      session.blocked = false;
      this.#log.info('connection unblocked');
    });
    channel.on('error', (err: unknown) => {
      lastError = err;
      this.#log.warn({ err }, 'confirm channel error');
    });
    channel.on('close', () => dead(lastError, 'confirm channel'));
  }
}
