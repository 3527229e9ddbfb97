/**
 * Scenario 5: failover. A gateway whose route fails over kafka -> rabbitmq -> redis takes a steady stream
 * over HTTP (the chaos suite's SteadyPublisher); the stack's Kafka is killed with SIGKILL. Measured: the time
 * from the kill to the first message acked by RabbitMQ (its `deliveredAt` in `GET /v1/messages/{id}`), and,
 * once Kafka is back and the outbox drained, messages lost (acked by the gateway, found on no broker; the
 * chaos suite's account()). Kafka is restarted in a finally whatever happens.
 */
import { serviceKill, serviceStart } from '../../scripts/stack/index.js';
import { account } from '../../test/chaos/harness/accounting.js';
import { kafkaDrain, rabbitmqDrain, redisDrain } from '../../test/chaos/harness/drain-readers.js';
import { SteadyPublisher } from '../../test/chaos/harness/publisher.js';
import { backendEntry, benchTopic, PARTITIONS, type StackEnv } from '../lib/brokers.js';
import { drained, getJson, startGateway } from '../lib/gateway.js';
import { sleep, until } from '../lib/proc.js';
import { fmt, type Spread, spread } from '../lib/stats.js';

/** Scenario 5's figures. */
export interface FailoverResult {
  rounds: number;
  /** Kill to first ack by the next backend, ms. */
  failoverMs: Spread;
  acked: number[];
  lost: number[];
  duplicated: number[];
}

async function active(url: string): Promise<string | null> {
  return (await getJson<{ routes: { active: string | null }[] }>(`${url}/v1/routes`)).routes[0]!.active;
}

/** The earliest `deliveredAt` on `backend` among `ids`, or undefined. */
async function firstDeliveredOn(url: string, ids: string[], backend: string): Promise<number | undefined> {
  const statuses = await Promise.all(
    ids.map((id) => getJson<{ backend?: string; deliveredAt?: string }>(`${url}/v1/messages/${id}`)),
  );
  const times = statuses
    .filter((s) => s.backend === backend && s.deliveredAt)
    .map((s) => Date.parse(s.deliveredAt!));
  return times.length > 0 ? Math.min(...times) : undefined;
}

async function round(
  env: StackEnv,
  steadyMs: number,
): Promise<{ ms: number; acked: number; lost: number; dup: number }> {
  const exchange = benchTopic('failover');
  const g = await startGateway(
    {
      kafka: backendEntry('kafka', env),
      rabbitmq: backendEntry('rabbitmq', env, exchange),
      redis: backendEntry('redis', env),
    },
    { logLevel: 'warn' },
  );
  const topic = benchTopic('failover');
  const pub = new SteadyPublisher(() => g.url, topic, { workers: 4, intervalMs: 10, keys: 40 });
  let ms = Number.NaN;
  try {
    pub.start();
    await until(
      async () => (await active(g.url)) === 'kafka' && pub.stats.acked.length > 50,
      30_000,
      'route on kafka',
      100,
    );
    await sleep(steadyMs);
    const ackedBefore = pub.stats.acked.length;
    const killedAt = Date.now();
    try {
      await serviceKill('kafka');
      let first: number | undefined;
      await until(
        async () => {
          const ids = pub.stats.acked.slice(ackedBefore, ackedBefore + 400).map((a) => a.id);
          first = await firstDeliveredOn(g.url, ids, 'rabbitmq');
          return first !== undefined;
        },
        60_000,
        'first ack by rabbitmq',
        100,
      );
      ms = first! - killedAt;
      await sleep(steadyMs);
    } finally {
      await pub.stop();
      await serviceStart('kafka');
    }
    await drained(g.url, 120_000);
    const byBackend = {
      kafka: await kafkaDrain(env.MQGATE_KAFKA_BROKERS!.split(','))(topic),
      rabbitmq: await rabbitmqDrain(env.MQGATE_RABBITMQ_URL!, exchange, PARTITIONS)(topic),
      redis: await redisDrain(env.MQGATE_REDIS_URL!, PARTITIONS)(topic),
    };
    const a = account(pub.stats.sent, pub.stats.refused, pub.stats.acked, byBackend);
    if (pub.stats.errors.length > 0)
      console.log(`  publisher errors: ${pub.stats.errors.slice(0, 3).join('; ')}`);
    return { ms, acked: a.acked, lost: a.lost.length, dup: a.duplicated };
  } finally {
    await pub.stop();
    await g.close();
  }
}

/** Runs scenario 5 `rounds` times; the only scenario that touches the shared stack's services. */
export async function failover(env: StackEnv, rounds: number, steadyMs: number): Promise<FailoverResult> {
  console.log(`scenario 5: failover kafka -> rabbitmq on kill -9, ${rounds} rounds`);
  const rs: { ms: number; acked: number; lost: number; dup: number }[] = [];
  for (let r = 0; r < rounds; r++) rs.push(await round(env, steadyMs));
  const result = {
    rounds,
    failoverMs: spread(rs.map((r) => r.ms)),
    acked: rs.map((r) => r.acked),
    lost: rs.map((r) => r.lost),
    duplicated: rs.map((r) => r.dup),
  };
  console.log(
    `  kill to first rabbitmq ack ${fmt(result.failoverMs)} ms  acked ${result.acked.join('/')}  lost ${result.lost.join('/')}  duplicated ${result.duplicated.join('/')}`,
  );
  return result;
}
