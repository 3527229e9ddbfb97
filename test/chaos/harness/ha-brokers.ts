import { Redis } from 'ioredis';
import kafkajs from 'kafkajs';
import { HA } from '../../../scripts/stack/index.js';

const { ConfigResourceTypes, ConfigSource, Kafka, logLevel } = kafkajs;

/**
 * Questions a chaos scenario asks the HA clusters themselves (who leads what), so that it kills the node
 * that matters instead of guessing.
 */

async function withAdmin<T>(brokers: string[], fn: (admin: kafkajs.Admin) => Promise<T>): Promise<T> {
  const kafka = new Kafka({ clientId: 'chaos-ha', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Leader node id of each partition of `topic`, from the cluster's metadata. */
export function partitionLeaders(brokers: string[], topic: string): Promise<Map<number, number>> {
  return withAdmin(brokers, async (admin) => {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    return new Map((topics[0]?.partitions ?? []).map((p) => [p.partitionId, p.leader]));
  });
}

/**
 * The topic's `min.insync.replicas`, whether the topic itself sets it (rather than inheriting the broker's,
 * which the HA stack also sets to 2), and the replica count of its partitions.
 */
export function topicDurability(
  brokers: string[],
  topic: string,
): Promise<{ minInsyncReplicas: number; setOnTopic: boolean; replicas: number[] }> {
  return withAdmin(brokers, async (admin) => {
    const { resources } = await admin.describeConfigs({
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['min.insync.replicas'] }],
      includeSynonyms: false,
    });
    const entry = resources[0]?.configEntries.find((e) => e.configName === 'min.insync.replicas');
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    return {
      minInsyncReplicas: Number(entry?.configValue),
      setOnTopic: entry?.configSource === ConfigSource.TOPIC_CONFIG,
      replicas: (topics[0]?.partitions ?? []).map((p) => p.replicas.length),
    };
  });
}

/** The stack names Kafka node N `kafka-N` (scripts/stack/kafka.ts: `node.id = i + 1`). */
export function kafkaServiceOf(nodeId: number): string {
  if (nodeId < 1 || nodeId > HA.kafka.length) throw new Error(`no HA kafka service for node id ${nodeId}`);
  return `kafka-${nodeId}`;
}

/** `host:port` of the master Sentinel currently names. */
export async function redisMasterAddress(sentinels: string[], name: string): Promise<string> {
  for (const s of sentinels) {
    const [host, port] = s.split(':');
    const client = new Redis({
      host,
      port: Number(port),
      lazyConnect: true,
      connectTimeout: 2_000,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    client.on('error', () => {});
    try {
      await client.connect();
      const addr = (await client.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)) as
        | [string, string]
        | null;
      if (addr) return `${addr[0]}:${addr[1]}`;
    } catch {
      // try the next sentinel
    } finally {
      client.disconnect();
    }
  }
  throw new Error(`no sentinel of ${sentinels.join(',')} names a master for ${name}`);
}

/** The stack's service that listens on a Redis data port (a failover may have made any of them primary). */
export function redisServiceOf(address: string): string {
  const port = Number(address.split(':')[1]);
  if (port === HA.redisPrimary) return 'redis-primary';
  const i = HA.redisReplicas.indexOf(port as (typeof HA.redisReplicas)[number]);
  if (i < 0) throw new Error(`no HA redis service on ${address}`);
  return `redis-replica-${i + 1}`;
}
