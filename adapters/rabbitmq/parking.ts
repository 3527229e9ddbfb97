import type { ChannelModel, GetMessage } from 'amqplib';
import { routingKeyOf } from './codec.js';
import type { ResolvedRabbitmqConfig } from './config.js';
import { parkingQueueName, queueArguments, topologyNames } from './topology.js';

/** Parked messages moved per confirm round trip. */
const BATCH = 100;

/**
 * Moves what was parked for a topic partition while no group was bound (README.md, "Why parking queues")
 * into the groups now bound: each message is got from `E.<topic>.<p>.unclaimed`, published again unchanged
 * to `E` with its routing key on a confirm channel, and acked in the parking queue only after the confirm,
 * so a crash in between duplicates a message but never loses one. Call it after the group queue is bound.
 * Resolves with the number moved.
 */
export async function moveParked(
  model: ChannelModel,
  config: ResolvedRabbitmqConfig,
  topic: string,
  partition: number,
): Promise<number> {
  const channel = await model.createConfirmChannel();
  channel.on('error', () => undefined); // the awaited calls reject with it
  const queue = parkingQueueName(config.exchange, topic, partition);
  let moved = 0;
  try {
    // The parking queue exists once the topic was ensured; declaring it again (same arguments) is a no-op
    // and spares a 404 that would close the channel when nothing was ever published.
    await channel.assertQueue(queue, { durable: true, arguments: queueArguments(config) });
    await channel.bindQueue(queue, topologyNames(config.exchange).unrouted, routingKeyOf(topic, partition));
    for (;;) {
      let last: GetMessage | undefined;
      for (let i = 0; i < BATCH; i++) {
        const msg = await channel.get(queue, { noAck: false });
        if (msg === false) break;
        last = msg;
        const { 'x-delivery-count': _, ...headers } = msg.properties.headers ?? {};
        channel.publish(config.exchange, msg.fields.routingKey, msg.content, {
          ...msg.properties,
          headers,
          persistent: true,
        });
      }
      if (last === undefined) return moved;
      await channel.waitForConfirms();
      // Acks every message got so far on this channel, in one frame.
      channel.ack(last, true);
      moved = Number(last.fields.deliveryTag);
    }
  } finally {
    await channel.close().catch(() => undefined);
  }
}
