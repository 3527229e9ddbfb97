import { type Static, Type } from '@sinclair/typebox';
import { Duration, PositiveInt, Strict, StringEnum, Tagged, Text } from './schema-types.js';

/** The backend types mqgate has adapters for. */
export const BACKEND_TYPES = ['kafka', 'rabbitmq', 'redis', 'bullmq'] as const;

const HostPorts = (description: string) =>
  Type.Array(Text('host:port', { format: 'host-port' }), { minItems: 1, description });

const Partitions = PositiveInt(6, 'partitions per topic; a key always lands on the same one');

export const KafkaBackendSchema = Strict({
  type: Type.Literal('kafka'),
  brokers: HostPorts('bootstrap brokers, host:port'),
  partitions: Partitions,
  replicationFactor: PositiveInt(
    1,
    'replication factor of created topics (min.insync.replicas = RF-1 when RF >= 3)',
  ),
  clientId: Type.Optional(Text('Kafka client id (default mqgate-<backend name>)')),
  ssl: Type.Optional(Type.Boolean({ description: 'connect with TLS' })),
  sasl: Type.Optional(
    Strict({
      mechanism: StringEnum(['plain', 'scram-sha-256', 'scram-sha-512'] as const, {
        description: 'SASL mechanism',
      }),
      username: Text('SASL user'),
      password: Text('SASL password (secret)'),
    }),
  ),
});

export const RabbitmqBackendSchema = Strict({
  type: Type.Literal('rabbitmq'),
  urls: Type.Array(Text('amqp URL', { format: 'amqp-url' }), {
    minItems: 1,
    description: 'amqp:// or amqps:// URLs of the cluster nodes, tried in order',
  }),
  partitions: Partitions,
  queueType: StringEnum(['quorum', 'classic'] as const, {
    default: 'quorum',
    description: 'queue type of group queues',
  }),
  exchange: Text('topic exchange that messages are published to', { default: 'mqgate' }),
});

/** Fields shared by the Redis-based backends: exactly one of `url` or `sentinels` + `name`. */
const redisConnection = {
  url: Type.Optional(Text('redis:// or rediss:// URL of a single server', { format: 'redis-url' })),
  sentinels: Type.Optional(HostPorts('Sentinel addresses, host:port')),
  name: Type.Optional(Text('Sentinel master name (with sentinels)')),
  password: Type.Optional(Text('password of the master and replicas (with sentinels; secret)')),
};

export const RedisBackendSchema = Strict({
  type: Type.Literal('redis'),
  ...redisConnection,
  partitions: Partitions,
  maxLen: Type.Optional(PositiveInt(undefined, 'approximate stream length to trim to (XADD MAXLEN ~)')),
  waitReplicas: Type.Integer({
    minimum: 0,
    default: 0,
    description: 'replicas that must acknowledge a batch (WAIT) before it counts as published; 0 = no WAIT',
  }),
  waitTimeout: Duration('1s', 'how long WAIT may take before the batch counts as failed (retriable)'),
});

export const BullmqBackendSchema = Strict({
  type: Type.Literal('bullmq'),
  ...redisConnection,
  prefix: Type.Optional(Text('BullMQ key prefix')),
});

/** One entry of `backends`, told apart by `type`. */
export const BackendSchema = Tagged('type', [
  KafkaBackendSchema,
  RabbitmqBackendSchema,
  RedisBackendSchema,
  BullmqBackendSchema,
]);

/** `backends`: a non-empty map from backend name to its settings. */
export const BackendsSchema = Type.Unsafe<Record<string, Static<typeof BackendSchema>>>({
  type: 'object',
  minProperties: 1,
  additionalProperties: BackendSchema,
  description: 'backends by name',
});
