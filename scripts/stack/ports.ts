/**
 * Loopback ports of the local stack. None is a broker's default port (9092, 5672, 6379, 15672, 25672,
 * 26379, 4369), so the stack runs beside system services; single and HA modes use disjoint ranges so both
 * can run at once.
 */
export const HOST = '127.0.0.1';

/** A private epmd for the stack's RabbitMQ nodes, so they never register with the system's epmd. */
export const EPMD_PORT = 14369;

export const SINGLE = {
  kafka: { broker: 19092, controller: 19093 },
  rabbitmq: { amqp: 16672, dist: 16673 },
  redis: 16379,
} as const;

export const HA = {
  /** kafka-1..3 */
  kafka: [
    { broker: 19192, controller: 19193 },
    { broker: 19292, controller: 19293 },
    { broker: 19392, controller: 19393 },
  ],
  /** rabbitmq-1..3 */
  rabbitmq: [
    { amqp: 16772, dist: 16773 },
    { amqp: 16872, dist: 16873 },
    { amqp: 16972, dist: 16973 },
  ],
  redisPrimary: 16479,
  /** redis-replica-1..2 */
  redisReplicas: [16480, 16481],
  /** sentinel-1..3 */
  sentinels: [26479, 26480, 26481],
  sentinelMasterName: 'mqgate',
} as const;
