import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { BreakerState } from '../../failover/breaker.js';
import type { HealthChange } from '../../failover/health.js';
import type { RouteSwitch } from '../../failover/route-policy.js';
import { TopicLabels } from '../../metrics/topic-labels.js';
import type { CommitInfo } from '../../outbox/group-commit.js';
import type { DeliveredEvent, FailedEvent } from '../../relay/relay.js';
import type { AppContext } from '../context.js';
import '../accepted.js';

export interface MetricsOptions {
  /** Distinct topic label values before new topics are reported as `other` (default 1,000). */
  readonly maxTopicLabels?: number;
  /** Node's default metrics (event loop lag, heap, GC, fds); default true. */
  readonly defaultMetrics?: boolean;
}

const BREAKER_VALUE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const RELAY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

interface CommitSource {
  on(event: 'commit', listener: (info: CommitInfo) => void): unknown;
  off(event: 'commit', listener: (info: CommitInfo) => void): unknown;
}

const emitsCommits = (outbox: unknown): outbox is CommitSource =>
  typeof (outbox as Partial<CommitSource> | null)?.on === 'function';

/**
 * `GET /metrics` in Prometheus text format. The only module that imports prom-client: it subscribes to what
 * the core publishes (relay `delivered` / `failed` / `switch`, health `change`, outbox `commit`, the
 * request's `accepted` facts) and reads gauges (outbox stats, breaker states) at scrape time. One registry per
 * app, so several gateways in one process do not share series. The listeners go away when the app closes.
 */
export const metricsPlugin = fp(
  async (app: FastifyInstance, opts: { ctx: AppContext; metrics?: MetricsOptions }) => {
    const { ctx } = opts;
    const registry = new Registry();
    if (opts.metrics?.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
    const topics = new TopicLabels(opts.metrics?.maxTopicLabels);
    const registers = [registry];

    const accepted = new Counter({
      name: 'mqgate_messages_accepted_total',
      help: 'Messages committed to the outbox, by topic',
      labelNames: ['topic'],
      registers,
    });
    const duplicates = new Counter({
      name: 'mqgate_messages_duplicate_total',
      help: 'Publishes answered as duplicates of an accepted idempotency key (nothing stored), by topic',
      labelNames: ['topic'],
      registers,
    });
    const delivered = new Counter({
      name: 'mqgate_messages_delivered_total',
      help: 'Messages a broker acknowledged, by topic and backend',
      labelNames: ['topic', 'backend'],
      registers,
    });
    const dead = new Counter({
      name: 'mqgate_messages_dead_lettered_total',
      help: 'Messages moved to the dead-letter store, by topic and backend (`none`: no backend was tried)',
      labelNames: ['topic', 'backend', 'code'],
      registers,
    });
    const retries = new Counter({
      name: 'mqgate_delivery_failures_total',
      help: 'Failed delivery attempts that will be retried, by backend and error code',
      labelNames: ['backend', 'code'],
      registers,
    });
    const publishSeconds = new Histogram({
      name: 'mqgate_publish_duration_seconds',
      help: 'HTTP publish latency, request to answer (includes the outbox fsync), by route and status',
      labelNames: ['route', 'status'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    const relaySeconds = new Histogram({
      name: 'mqgate_relay_latency_seconds',
      help: 'Time from accept to broker ack, by backend',
      labelNames: ['backend'],
      buckets: RELAY_BUCKETS,
      registers,
    });
    const commitOps = new Histogram({
      name: 'mqgate_outbox_group_commit_size',
      help: 'Operations sharing one outbox transaction and fsync (group commit)',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
      registers,
    });
    const commitSeconds = new Histogram({
      name: 'mqgate_outbox_commit_duration_seconds',
      help: 'Outbox transaction time, BEGIN to end of COMMIT (includes the fsync)',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    const switches = new Counter({
      name: 'mqgate_route_switches_total',
      help: 'Route moves between backends, by route match and reason (initial, failover, failback)',
      labelNames: ['route', 'reason', 'to'],
      registers,
    });
    const breakerChanges = new Counter({
      name: 'mqgate_backend_state_changes_total',
      help: 'Circuit breaker state changes, by backend and new state',
      labelNames: ['backend', 'state'],
      registers,
    });
    const requests = new Counter({
      name: 'mqgate_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status (401/403/429 included)',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    new Gauge({
      name: 'mqgate_backend_state',
      help: 'Circuit breaker state per backend: 0 closed, 1 half-open, 2 open',
      labelNames: ['backend', 'type'],
      registers,
      collect() {
        this.reset();
        for (const b of ctx.health.view())
          this.set({ backend: b.name, type: b.type }, BREAKER_VALUE[b.state]);
      },
    });
    new Gauge({
      name: 'mqgate_backend_connected',
      help: 'Whether the gateway holds a connection to the backend (1) or not (0)',
      labelNames: ['backend'],
      registers,
      collect() {
        this.reset();
        for (const b of ctx.health.view()) this.set({ backend: b.name }, b.connected ? 1 : 0);
      },
    });
    const outboxGauge = (
      name: string,
      help: string,
      pick: (s: Awaited<ReturnType<AppContext['outbox']['stats']>>) => number,
    ) =>
      new Gauge({
        name,
        help,
        registers,
        async collect() {
          try {
            this.set(pick(await ctx.outbox.stats()));
          } catch {
            // Outbox closed (draining): keep the last value rather than fail the scrape.
          }
        },
      });
    outboxGauge('mqgate_outbox_depth', 'Messages accepted and not yet delivered nor dead', (s) => s.depth);
    outboxGauge(
      'mqgate_outbox_bytes',
      'Bytes of undelivered messages (counted against outbox.maxBytes)',
      (s) => s.bytes,
    );
    outboxGauge(
      'mqgate_outbox_oldest_age_seconds',
      'Age of the oldest undelivered message',
      (s) => s.oldestAgeMs / 1000,
    );
    outboxGauge('mqgate_outbox_dead', 'Messages in the dead-letter store', (s) => s.dead);

    const onDelivered = (e: DeliveredEvent) => {
      delivered.inc({ topic: topics.label(e.topic), backend: e.backend });
      relaySeconds.observe({ backend: e.backend }, (Date.now() - e.acceptedAt) / 1000);
    };
    const onFailed = (e: FailedEvent) => {
      if (e.dead)
        dead.inc({ topic: topics.label(e.topic), backend: e.backend ?? 'none', code: e.error.code });
      else retries.inc({ backend: e.backend ?? 'none', code: e.error.code });
    };
    const onSwitch = (s: RouteSwitch) => switches.inc({ route: s.match, reason: s.reason, to: s.to });
    const onChange = (c: HealthChange) => breakerChanges.inc({ backend: c.backend, state: c.to });
    const onCommit = (c: CommitInfo) => {
      commitOps.observe(c.operations);
      commitSeconds.observe(c.durationMs / 1000);
    };
    ctx.relay.on('delivered', onDelivered);
    ctx.relay.on('failed', onFailed);
    ctx.relay.on('switch', onSwitch);
    ctx.health.on('change', onChange);
    if (emitsCommits(ctx.outbox)) ctx.outbox.on('commit', onCommit);
    app.addHook('onClose', async () => {
      ctx.relay.off('delivered', onDelivered);
      ctx.relay.off('failed', onFailed);
      ctx.relay.off('switch', onSwitch);
      ctx.health.off('change', onChange);
      if (emitsCommits(ctx.outbox)) ctx.outbox.off('commit', onCommit);
    });

    app.addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions.url ?? 'unknown';
      const status = String(reply.statusCode);
      requests.inc({ method: request.method, route, status });
      const info = request.accepted;
      if (info !== undefined) {
        const topic = topics.label(info.topic);
        if (info.accepted > 0) accepted.inc({ topic }, info.accepted);
        if (info.duplicates > 0) duplicates.inc({ topic }, info.duplicates);
      }
      if (request.method === 'POST' && route.startsWith('/v1/topics/')) {
        publishSeconds.observe(
          { route: route.endsWith(':batch') ? 'batch' : 'single', status },
          reply.elapsedTime / 1000,
        );
      }
    });

    app.get(
      '/metrics',
      {
        config: { access: 'open' },
        schema: { tags: ['ops'], summary: 'Prometheus metrics (text exposition format)', hide: false },
      },
      async (_request, reply) => {
        reply.type(registry.contentType);
        return registry.metrics();
      },
    );
  },
  { name: 'mqgate-metrics', fastify: '5.x' },
);
