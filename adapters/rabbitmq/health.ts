import type { ResolvedRabbitmqConfig } from './config.js';
import type { RabbitConnection } from './connection.js';
import { declareBase } from './topology.js';

/**
 * The health probe: (re)connects if needed, then asks the broker whether mqgate's exchange exists
 * (`exchange.declare passive`), on a channel of its own, bounded by `requestTimeoutMs`. A cheap round trip
 * that proves the node answers, the vhost is usable and the topology is there. When the exchange was deleted
 * under us, the probe declares the base topology again and forgets which topics were ensured, so that the
 * next publish re-declares their parking queues instead of having messages returned.
 *
 * Resolves when healthy; rejects with an MqgateError otherwise.
 */
export async function probe(connection: RabbitConnection, config: ResolvedRabbitmqConfig): Promise<void> {
  const found = await connection.withChannel('probe', async (channel) => {
    try {
      await channel.checkExchange(config.exchange);
      return true;
    } catch (err) {
      // 404 NOT_FOUND closes the probe channel; anything else is a real failure.
      if ((err as { code?: unknown }).code === 404) return false;
      throw err;
    }
  });
  if (found) return;
  await connection.withChannel('redeclaring the base topology', async (channel, session) => {
    session.ensured.clear();
    await declareBase(channel, config);
  });
}
