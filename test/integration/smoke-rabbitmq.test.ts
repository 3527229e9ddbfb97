import { randomUUID } from 'node:crypto';
import { type ChannelModel, type ConfirmChannel, type ConsumeMessage, connect } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackEnv } from '../helpers/stack-env.js';

/** Rejects after `ms` with a message naming what was awaited, so a lost message fails fast and clearly. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms}ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe('smoke: rabbitmq', () => {
  let conn: ChannelModel;
  let channel: ConfirmChannel;
  const exchange = `t-${randomUUID()}`;
  const queue = `q-${randomUUID()}`;

  beforeAll(async () => {
    conn = await connect(stackEnv().rabbitmqUrl, { timeout: 5000 });
    channel = await conn.createConfirmChannel();
  });

  afterAll(async () => {
    if (channel) {
      await channel.deleteQueue(queue).catch(() => undefined);
      await channel.deleteExchange(exchange).catch(() => undefined);
    }
    await conn?.close();
  });

  it('publishes with a confirm to a quorum queue, consumes and acks', async () => {
    await channel.assertExchange(exchange, 'topic', { durable: true });
    await channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await channel.bindQueue(queue, exchange, 'orders.#');

    const messageId = randomUUID();
    const received = new Promise<ConsumeMessage>((resolve) => {
      void channel.consume(queue, (msg) => {
        if (msg) resolve(msg);
      });
    });

    channel.publish(exchange, 'orders.created', Buffer.from('hello'), {
      persistent: true,
      messageId,
      contentType: 'text/plain',
      mandatory: true,
    });
    await within(channel.waitForConfirms(), 10_000, 'publisher confirm');

    const msg = await within(received, 10_000, 'delivery');
    expect(msg.content.toString()).toBe('hello');
    expect(msg.properties.messageId).toBe(messageId);
    expect(msg.properties.deliveryMode).toBe(2);
    channel.ack(msg);

    const { messageCount } = await channel.checkQueue(queue);
    expect(messageCount).toBe(0);
  });
});
