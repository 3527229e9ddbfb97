import { type ChannelModel, type ConsumeMessage, connect } from 'amqplib';
import type { Logger } from 'pino';
import { type MqgateError, toMqgateError } from '../../src/errors.js';
import { assignPartitions, tpKey } from '../../src/groups/assignment.js';
import { Rebalancer } from '../../src/groups/rebalancer.js';
import { defaultMemberId, type GroupTiming, requestTiming } from '../../src/groups/timing.js';
import type { SubscribeRequest, Subscription, TopicPartition } from '../../src/ports/subscriber.js';
import { decode } from './codec.js';
import { dialUrl, type ResolvedRabbitmqConfig, redactUrl } from './config.js';
import { mapAmqpError, withTimeout } from './errors.js';
import { heartbeatExchangeName, RabbitMembership } from './membership.js';
import { moveParked } from './parking.js';
import { type Outcome, QueueConsumer } from './queue-consumer.js';
import { declareBase, declareGroupQueue } from './topology.js';

/**
 * One member of a consumer group over RabbitMQ (README.md, "Consumer groups"): heartbeats on the group's
 * fanout exchange, computes the assignment from the members it hears, and consumes only the group queues
 * of its partitions, each a single-active-consumer quorum queue, on a connection of its own.
 */
export class RabbitSubscription implements Subscription {
  readonly #request: SubscribeRequest;
  readonly #config: ResolvedRabbitmqConfig;
  readonly #log: Logger;
  readonly #member: string;
  readonly #timing: GroupTiming;
  readonly #consumers = new Map<string, QueueConsumer>();
  readonly #rebalancer: Rebalancer;
  #model: ChannelModel | undefined;
  #membership: RabbitMembership | undefined;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> = Promise.resolve();
  #beats: NodeJS.Timeout | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(request: SubscribeRequest, config: ResolvedRabbitmqConfig, logger: Logger) {
    this.#request = request;
    this.#config = config;
    this.#log = logger;
    this.#member = request.memberId ?? defaultMemberId();
    this.#timing = requestTiming(config.options, request.sessionTimeoutMs);
    this.#rebalancer = new Rebalancer(
      {
        acquire: (tp) => this.#acquire(tp),
        start: (tp) => this.#start(tp),
        stop: async (tp) => this.#consumers.get(tpKey(tp))?.stop(),
        release: async (tp) => {
          const consumer = this.#consumers.get(tpKey(tp));
          this.#consumers.delete(tpKey(tp));
          await consumer?.release();
        },
      },
      { onAssign: request.onAssign, onRevoke: request.onRevoke, onError: (e) => this.#report(e) },
    );
  }

  /** Connects, joins, and makes the first assignment after one heartbeat interval of listening. */
  async start(): Promise<void> {
    const model = await this.#dial();
    this.#model = model;
    model.on('error', (err: unknown) => this.#log.warn({ err }, 'group connection error'));
    model.on('close', (err: unknown) => {
      if (this.#closed) return;
      // No reconnect yet: the broker requeues our unacked messages and hands our queues to the others.
      this.#report(mapAmqpError(err ?? new Error('connection closed'), { backend: this.#config.name }));
      void this.#rebalancer.lost(this.#rebalancer.owned());
    });
    const base = await model.createChannel();
    await declareBase(base, this.#config);
    await base.close();
    this.#membership = new RabbitMembership(
      model,
      heartbeatExchangeName(this.#config.exchange, this.#request.group),
      this.#member,
      this.#timing.sessionTimeoutMs,
      () => this.#soon(),
    );
    await this.#membership.start();
    this.#membership.beat();
    // Beats go on by themselves: a rebalance step may wait for a long handler of a partition it revokes, and
    // a member that stopped beating meanwhile would be declared dead by the others.
    this.#beats = setInterval(() => this.#membership?.beat(), this.#timing.heartbeatIntervalMs);
    // Listen for one and a half heartbeat intervals first, so the first assignment already counts the
    // members that are there, instead of taking every partition and giving most back a second later.
    await new Promise((resolve) => setTimeout(resolve, this.#timing.heartbeatIntervalMs * 1.5));
    await this.#tick();
  }

  close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.#closed = true;
    this.#closing ??= this.#shutdown(options.timeoutMs ?? 10_000);
    return this.#closing;
  }

  async #shutdown(timeoutMs: number): Promise<void> {
    clearTimeout(this.#timer);
    const leave = async (): Promise<void> => {
      await this.#ticking;
      await this.#rebalancer.revokeAll();
      clearInterval(this.#beats);
      this.#membership?.beat(true);
      await this.#membership?.close();
    };
    await withTimeout(leave(), timeoutMs, 'leaving the group', {}).catch((e) => this.#report(e));
    clearInterval(this.#beats);
    await this.#model?.close().catch(() => undefined);
  }

  async #dial(): Promise<ChannelModel> {
    const { connectTimeoutMs, heartbeatSec } = this.#config.options;
    let last: unknown;
    for (const url of this.#config.urls) {
      try {
        const clientProperties = { connection_name: `mqgate:${this.#config.name}:group:${this.#member}` };
        return await connect(dialUrl(url, heartbeatSec), { timeout: connectTimeoutMs, clientProperties });
      } catch (err) {
        last = mapAmqpError(err, { backend: this.#config.name, url: redactUrl(url) }, 'connecting');
      }
    }
    throw toMqgateError(last ?? new Error('no RabbitMQ urls'), 'MQGATE_ERR_BACKEND_UNAVAILABLE');
  }

  /** A member joined or left: rebalance now rather than at the next heartbeat. */
  #soon(): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#tick(), 0);
  }

  #tick(): Promise<void> {
    this.#ticking = this.#ticking.then(async () => {
      if (this.#closed || this.#membership === undefined) return;
      clearTimeout(this.#timer);
      try {
        this.#membership.beat();
        const members = this.#membership.live();
        const assignment = assignPartitions(members, this.#request.topics, this.#config.partitions);
        await this.#rebalancer.reconcile(assignment.get(this.#member) ?? []);
      } catch (err) {
        this.#report(err);
      } finally {
        if (!this.#closed) {
          clearTimeout(this.#timer);
          this.#timer = setTimeout(() => void this.#tick(), this.#timing.heartbeatIntervalMs);
        }
      }
    });
    return this.#ticking;
  }

  async #acquire(tp: TopicPartition): Promise<boolean> {
    const model = this.#model;
    if (model === undefined) return false;
    const channel = await model.createChannel();
    channel.on('error', () => undefined); // the awaited calls reject with it
    try {
      const queue = await declareGroupQueue(
        channel,
        this.#config,
        tp.topic,
        tp.partition,
        this.#request.group,
      );
      const moved = await moveParked(model, this.#config, tp.topic, tp.partition);
      if (moved > 0)
        this.#log.info({ topic: tp.topic, partition: tp.partition, moved }, 'moved parked messages');
      this.#consumers.set(
        tpKey(tp),
        new QueueConsumer(
          model,
          queue,
          this.#config.options.prefetch,
          (msg) => this.#handle(tp, msg),
          (err) => this.#report(err, { topic: tp.topic, partition: tp.partition }),
        ),
      );
      return true;
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  #start(tp: TopicPartition): void {
    this.#consumers
      .get(tpKey(tp))
      ?.start()
      .catch((err) => this.#report(err, { topic: tp.topic, partition: tp.partition }));
  }

  async #handle(tp: TopicPartition, msg: ConsumeMessage): Promise<Outcome> {
    let envelope: ReturnType<typeof decode>;
    try {
      envelope = decode(msg);
    } catch (err) {
      // Not an mqgate message: it can never be handled; dead-letter it (kept in E.dead-letter, not dropped).
      this.#report(err, { topic: tp.topic, partition: tp.partition });
      return 'dead-letter';
    }
    try {
      await this.#request.onMessage({ envelope, backend: this.#config.name, partition: tp.partition });
      return 'ack';
    } catch {
      return 'requeue';
    }
  }

  #report(err: unknown, context: Record<string, unknown> = {}): void {
    const error: MqgateError = toMqgateError(mapAmqpError(err, {}));
    Object.assign(
      error.context,
      { backend: this.#config.name, group: this.#request.group, member: this.#member },
      context,
    );
    this.#request.onError?.(error);
  }
}
