/**
 * Scenario 7: the Kafka client. kafkajs (what adapters/kafka uses) against @platformatic/kafka 1.35 (pinned,
 * a devDependency of the bench only), producing the same records to the stack's Kafka: the adapter's own
 * encoding of the same envelopes (`encodeRecord`: key, value, the CloudEvents `ce_` headers, an explicit
 * partition), in the same batches of 100, `IN_FLIGHT` sends at once, acks=-1 (all in-sync replicas) on both,
 * neither idempotent nor compressed. Each round runs both clients, alternating which goes first, on a topic
 * of their own; after each run the topic's end offsets must add up to the messages sent. messages/s from the
 * first send to the last acknowledgement (connect and metadata are done before the clock starts).
 */
import { ProduceAcks, Producer } from '@platformatic/kafka';
import kafkajs from 'kafkajs';
import { encodeRecord } from '../../adapters/kafka/codec.js';
import { partitionOf } from '../../src/envelope.js';
import { benchTopic, envelopes, PARTITIONS, pool, type StackEnv } from '../lib/brokers.js';
import { fmt, ratio, type Spread, spread } from '../lib/stats.js';

export const BATCH = 100;
const IN_FLIGHT = 4;

export interface KafkaClientsResult {
  messages: number;
  batch: number;
  inFlight: number;
  kafkajs: Spread;
  platformatic: Spread;
  /** @platformatic/kafka over kafkajs. */
  ratio: number;
}

/** One record, as both clients take it: Buffers everywhere, built before the clock starts. */
interface Rec {
  key: Buffer | null;
  value: Buffer;
  partition: number;
  headers: [string, Buffer][];
}

function records(topic: string, total: number): Rec[][] {
  return Array.from({ length: total / BATCH }, (_, b) =>
    envelopes(topic, BATCH, b * BATCH).map((env) => {
      const m = encodeRecord(env, partitionOf(env.key ?? env.id, PARTITIONS));
      return {
        key: m.key === undefined || m.key === null ? null : Buffer.from(m.key),
        value: Buffer.from(m.value as Buffer),
        partition: m.partition as number,
        headers: Object.entries(m.headers ?? {}).map(([k, v]) => [k, Buffer.from(v as string)]),
      };
    }),
  );
}

type Client = (topic: string, batches: Rec[][]) => Promise<number>;

const viaKafkajs =
  (brokers: string[]): Client =>
  async (topic, batches) => {
    const kafka = new kafkajs.Kafka({
      clientId: 'bench-kafkajs',
      brokers,
      logLevel: kafkajs.logLevel.NOTHING,
    });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      const messages = batches.map((batch) =>
        batch.map((r) => ({
          key: r.key,
          value: r.value,
          partition: r.partition,
          headers: Object.fromEntries(r.headers),
        })),
      );
      await producer.send({ topic, acks: -1, messages: messages[0]!.slice(0, 1) }); // metadata, connection
      const started = performance.now();
      await pool(messages.length, IN_FLIGHT, async (b) => {
        await producer.send({ topic, acks: -1, messages: messages[b]! });
      });
      return performance.now() - started;
    } finally {
      await producer.disconnect();
    }
  };

const viaPlatformatic =
  (brokers: string[]): Client =>
  async (topic, batches) => {
    const producer = new Producer({
      clientId: 'bench-platformatic',
      bootstrapBrokers: brokers,
      acks: ProduceAcks.ALL,
      autocreateTopics: false,
    });
    try {
      const messages = batches.map((batch) =>
        batch.map((r) => ({
          topic,
          ...(r.key === null ? {} : { key: r.key }),
          value: r.value,
          partition: r.partition,
          headers: new Map(r.headers.map(([k, v]) => [Buffer.from(k), v])),
        })),
      );
      await producer.send({ messages: messages[0]!.slice(0, 1) }); // metadata, connection
      const started = performance.now();
      await pool(messages.length, IN_FLIGHT, async (b) => {
        await producer.send({ messages: messages[b]! });
      });
      return performance.now() - started;
    } finally {
      await producer.close();
    }
  };

/** The topic's end offsets summed: every acknowledged record is there (plus the one warm-up record). */
async function written(admin: kafkajs.Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((n, o) => n + Number(o.high), 0);
}

/** Runs scenario 7: both clients each round, alternating which goes first. */
export async function kafkaClients(
  env: StackEnv,
  rounds: number,
  total: number,
): Promise<KafkaClientsResult> {
  console.log(
    `scenario 7: kafkajs vs @platformatic/kafka, ${total} records in batches of ${BATCH}, ${IN_FLIGHT} in flight, acks=-1, ${rounds} rounds`,
  );
  const brokers = env.MQGATE_KAFKA_BROKERS!.split(',');
  const admin = new kafkajs.Kafka({ brokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  const rates: Record<'kafkajs' | 'platformatic', number[]> = { kafkajs: [], platformatic: [] };
  const clients = { kafkajs: viaKafkajs(brokers), platformatic: viaPlatformatic(brokers) };
  try {
    for (let r = 0; r < rounds; r++) {
      const order =
        r % 2 === 0 ? (['kafkajs', 'platformatic'] as const) : (['platformatic', 'kafkajs'] as const);
      for (const name of order) {
        const topic = benchTopic(`client-${name}`);
        await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
        const ms = await clients[name](topic, records(topic, total));
        const count = await written(admin, topic);
        if (count !== total + 1)
          throw new Error(`${name}: ${count} records on ${topic}, expected ${total + 1}`);
        rates[name].push(total / (ms / 1000));
        await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      }
    }
  } finally {
    await admin.disconnect();
  }
  const k = spread(rates.kafkajs);
  const p = spread(rates.platformatic);
  const result = {
    messages: total,
    batch: BATCH,
    inFlight: IN_FLIGHT,
    kafkajs: k,
    platformatic: p,
    ratio: ratio(p, k),
  };
  console.log(`  kafkajs ${fmt(k)} msg/s  @platformatic/kafka ${fmt(p)} msg/s  ratio ${result.ratio}x`);
  return result;
}
