import type { Admin } from 'kafkajs';
import { MqgateError } from '../../src/errors.js';
import { KAFKA_TIMEOUTS } from './config.js';
import { toKafkaError } from './errors.js';

/**
 * Checks that the cluster answers: a metadata request for no topic (brokers and controller only), the
 * cheapest request that needs a live broker. Resolves within `KAFKA_TIMEOUTS.probeMs` or rejects with a
 * retriable MqgateError; it never waits on kafkajs' own retries past that bound.
 */
export async function probeCluster(admin: () => Promise<Admin>, backend: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new MqgateError(
            'MQGATE_ERR_BACKEND_TIMEOUT',
            `kafka did not answer within ${KAFKA_TIMEOUTS.probeMs} ms`,
            {
              context: { backend },
            },
          ),
        ),
      KAFKA_TIMEOUTS.probeMs,
    );
  });
  const work = (async () => {
    const { brokers } = await (await admin()).describeCluster();
    if (brokers.length === 0) {
      throw new MqgateError('MQGATE_ERR_BACKEND_UNAVAILABLE', 'kafka cluster reports no brokers', {
        context: { backend },
        retriable: true,
      });
    }
  })();
  work.catch(() => undefined); // it may settle after the deadline
  try {
    await Promise.race([work, expired]);
  } catch (err) {
    throw toKafkaError(err, { backend }, 'probing kafka');
  } finally {
    clearTimeout(timer);
  }
}
