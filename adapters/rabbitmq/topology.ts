import { createHash } from 'node:crypto';
import type { Channel } from 'amqplib';
import { routingKeyOf } from './codec.js';
import type { ResolvedRabbitmqConfig } from './config.js';

/**
 * The broker objects of one mqgate exchange `E` (config `exchange`, default `mqgate`). README.md explains why.
 *
 * - `E`: durable topic exchange; publishes use routing key `<topic>.<partition>`. Its alternate exchange is
 *   `E.unrouted`, so a message that no group queue takes is handed on instead of dropped.
 * - `E.unrouted`: durable internal topic exchange. `ensureTopic` binds one parking queue per topic partition
 *   to it, `E.<topic>.<p>.unclaimed`, which keeps messages published while no group is bound.
 * - Group queues (the SDK's): `E.<topic>.<p>.group.<group>`, bound to `E` with `<topic>.<p>`. Once one is
 *   bound, new messages of that partition go to the groups and no longer to the parking queue.
 * - `E.dlx` + `E.dead-letter`: the dead-letter exchange of every queue, with a catch-all queue so that a
 *   message over the delivery limit is kept, not dropped. The SDK may bind its own queues to `E.dlx`.
 */
export interface TopologyNames {
  readonly exchange: string;
  readonly unrouted: string;
  readonly deadLetterExchange: string;
  readonly deadLetterQueue: string;
}

/** AMQP short strings (queue and exchange names) hold at most 255 bytes. */
const MAX_NAME_BYTES = 255;

/** Keeps a name within 255 bytes: a long one is cut and made unique again by a hash of the whole. */
export function boundedName(name: string): string {
  if (Buffer.byteLength(name) <= MAX_NAME_BYTES) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 16);
  return `${Buffer.from(name)
    .subarray(0, 200)
    .toString('utf8')
    .replace(/\uFFFD+$/, '')}~${hash}`;
}

export function topologyNames(exchange: string): TopologyNames {
  return {
    exchange,
    unrouted: boundedName(`${exchange}.unrouted`),
    deadLetterExchange: boundedName(`${exchange}.dlx`),
    deadLetterQueue: boundedName(`${exchange}.dead-letter`),
  };
}

/** The queue that keeps a topic partition's messages while no consumer group is bound to it. */
export function parkingQueueName(exchange: string, topic: string, partition: number): string {
  return boundedName(`${exchange}.${topic}.${partition}.unclaimed`);
}

/** The queue a consumer group owns for one topic partition (declared by the SDK with `declareGroupQueue`). */
export function groupQueueName(exchange: string, topic: string, partition: number, group: string): string {
  return boundedName(`${exchange}.${topic}.${partition}.group.${group}`);
}

/**
 * Arguments of every mqgate queue: quorum (replicated, fsync'd before the confirm) with a delivery limit, or
 * a durable classic queue; both dead-letter to `E.dlx`. The same arguments everywhere, since RabbitMQ
 * refuses (406) to redeclare a queue with different ones.
 */
export function queueArguments(config: ResolvedRabbitmqConfig): Record<string, unknown> {
  const deadLetter = { 'x-dead-letter-exchange': topologyNames(config.exchange).deadLetterExchange };
  if (config.queueType === 'classic') return { 'x-queue-type': 'classic', ...deadLetter };
  return { 'x-queue-type': 'quorum', 'x-delivery-limit': config.options.deliveryLimit, ...deadLetter };
}

/** Declares the exchanges and the dead-letter queue. Idempotent; run once per connection. */
export async function declareBase(channel: Channel, config: ResolvedRabbitmqConfig): Promise<void> {
  const names = topologyNames(config.exchange);
  // The alternate exchange first, so that no message reaches `E` while its alternate is missing.
  await channel.assertExchange(names.unrouted, 'topic', { durable: true, internal: true });
  await channel.assertExchange(names.exchange, 'topic', {
    durable: true,
    arguments: { 'alternate-exchange': names.unrouted },
  });
  await channel.assertExchange(names.deadLetterExchange, 'topic', { durable: true });
  // The dead-letter queue has no dead-letter exchange of its own: nowhere further to go.
  const { 'x-dead-letter-exchange': _, 'x-delivery-limit': __, ...args } = queueArguments(config);
  await channel.assertQueue(names.deadLetterQueue, { durable: true, arguments: args });
  await channel.bindQueue(names.deadLetterQueue, names.deadLetterExchange, '#');
}

/** Declares a topic's parking queues, one per partition, bound to the alternate exchange. Idempotent. */
export async function declareTopic(
  channel: Channel,
  config: ResolvedRabbitmqConfig,
  topic: string,
): Promise<void> {
  const names = topologyNames(config.exchange);
  for (let p = 0; p < config.partitions; p++) {
    const queue = parkingQueueName(config.exchange, topic, p);
    await channel.assertQueue(queue, { durable: true, arguments: queueArguments(config) });
    await channel.bindQueue(queue, names.unrouted, routingKeyOf(topic, p));
  }
}

/**
 * Declares a group's queue for one topic partition (a single-active-consumer queue) and binds it to `E`.
 * For the consumer SDK: from the bind
 * on, the partition's new messages go to the group (and to other bound groups), not to the parking queue;
 * what was parked before stays in the parking queue until the SDK moves it (see README.md).
 */
export async function declareGroupQueue(
  channel: Channel,
  config: ResolvedRabbitmqConfig,
  topic: string,
  partition: number,
  group: string,
): Promise<string> {
  const queue = groupQueueName(config.exchange, topic, partition, group);
  // Single active consumer: while members of the group disagree about the assignment for a moment (or the
  // old owner still settles its in-flight message), only one of them receives the queue's messages, and
  // the next one takes over, returned messages first, when that consumer's channel closes.
  // https://www.rabbitmq.com/docs/consumers#single-active-consumer
  const args = { ...queueArguments(config), 'x-single-active-consumer': true };
  await channel.assertQueue(queue, { durable: true, arguments: args });
  await channel.bindQueue(queue, config.exchange, routingKeyOf(topic, partition));
  return queue;
}
