/**
 * Loopback ports of the local stack. None is a server's default port (9092, 5672, 6379, 15672, 25672,
 * 26379, 4369, 5432), so the stack runs beside system services; single and HA modes use disjoint ranges so both
 * can run at once.
 */
export const HOST = '127.0.0.1';

/**
 * `MQGATE_STACK_PORT_OFFSET` shifts every port below, so a second checkout (a CI dry run beside a developer's
 * stack) can run its own stack at the same time. 0 by default; at most 1000 keeps every port valid.
 */
const OFFSET = portOffset(process.env.MQGATE_STACK_PORT_OFFSET);

function portOffset(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 0;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 1000) {
    throw new Error(`MQGATE_STACK_PORT_OFFSET must be an integer 0-1000, got "${raw}"`);
  }
  return n;
}

const p = (port: number): number => port + OFFSET;

/** A private epmd for the stack's RabbitMQ nodes, so they never register with the system's epmd. */
export const EPMD_PORT = p(14369);

export const SINGLE = {
  kafka: { broker: p(19092), controller: p(19093) },
  rabbitmq: { amqp: p(16672), dist: p(16673) },
  redis: p(16379),
  postgres: p(15432),
} as const;

export const HA = {
  /** kafka-1..3 */
  kafka: [
    { broker: p(19192), controller: p(19193) },
    { broker: p(19292), controller: p(19293) },
    { broker: p(19392), controller: p(19393) },
  ],
  /** rabbitmq-1..3 */
  rabbitmq: [
    { amqp: p(16772), dist: p(16773) },
    { amqp: p(16872), dist: p(16873) },
    { amqp: p(16972), dist: p(16973) },
  ],
  redisPrimary: p(16479),
  /** redis-replica-1..2 */
  redisReplicas: [p(16480), p(16481)],
  /** sentinel-1..3 */
  sentinels: [p(26479), p(26480), p(26481)],
  sentinelMasterName: 'mqgate',
} as const;
