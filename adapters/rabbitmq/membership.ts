import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { boundedName } from './topology.js';

/** The fanout exchange a group's members heartbeat on. */
export function heartbeatExchangeName(exchange: string, group: string): string {
  return boundedName(`${exchange}.group.${group}.heartbeats`);
}

interface Beat {
  readonly member: string;
  readonly leaving?: boolean;
}

/**
 * Group membership over RabbitMQ, which has no partition assignment of its own. Every member publishes a
 * heartbeat each interval on the group's fanout exchange `E.group.<group>.heartbeats` and hears everyone's
 * through an exclusive, auto-delete queue of its own; a member not heard from within the session timeout
 * is dead. A closing member says so (`leaving`), so the others rebalance at once. Heartbeats carry a TTL of
 * the session timeout, so a member that was slow to read never acts on stale ones.
 *
 * Exclusive ownership does not rest on this view (members may disagree for a moment): group queues are
 * single-active-consumer queues, so only one member at a time receives a queue's messages.
 */
export class RabbitMembership {
  readonly #model: ChannelModel;
  readonly #exchange: string;
  readonly #member: string;
  readonly #sessionTimeoutMs: number;
  readonly #onChange: () => void;
  readonly #lastSeen = new Map<string, number>();
  #channel: Channel | undefined;

  /** @param onChange called when a member joins or leaves (not when one times out: the tick sees that). */
  constructor(
    model: ChannelModel,
    exchange: string,
    member: string,
    sessionTimeoutMs: number,
    onChange: () => void,
  ) {
    this.#model = model;
    this.#exchange = exchange;
    this.#member = member;
    this.#sessionTimeoutMs = sessionTimeoutMs;
    this.#onChange = onChange;
  }

  async start(): Promise<void> {
    const channel = await this.#model.createChannel();
    channel.on('error', () => undefined); // a closed channel surfaces through the connection's close
    this.#channel = channel;
    await channel.assertExchange(this.#exchange, 'fanout', { durable: true });
    const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
    await channel.bindQueue(queue, this.#exchange, '');
    await channel.consume(queue, (msg) => this.#hear(msg), { noAck: true });
  }

  /** Says this member is alive (or leaving). */
  beat(leaving = false): void {
    const body: Beat = leaving ? { member: this.#member, leaving } : { member: this.#member };
    this.#channel?.publish(this.#exchange, '', Buffer.from(JSON.stringify(body)), {
      expiration: String(this.#sessionTimeoutMs),
      contentType: 'application/json',
    });
  }

  /** Members heard from within the session timeout, this one included. */
  live(now = Date.now()): string[] {
    for (const [member, at] of this.#lastSeen) {
      if (now - at > this.#sessionTimeoutMs) this.#lastSeen.delete(member);
    }
    return [...new Set([...this.#lastSeen.keys(), this.#member])];
  }

  async close(): Promise<void> {
    await this.#channel?.close().catch(() => undefined);
    this.#channel = undefined;
  }

  #hear(msg: ConsumeMessage | null): void {
    if (msg === null) return;
    let beat: Beat;
    try {
      beat = JSON.parse(msg.content.toString()) as Beat;
    } catch {
      return; // not ours
    }
    if (typeof beat.member !== 'string' || beat.member === this.#member) return;
    const known = this.#lastSeen.has(beat.member);
    if (beat.leaving) this.#lastSeen.delete(beat.member);
    else this.#lastSeen.set(beat.member, Date.now());
    if (known === Boolean(beat.leaving)) this.#onChange();
  }
}
