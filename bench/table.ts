/**
 * `npx tsx bench/table.ts bench/results/<date>.json`: the Markdown table of a results file, as pasted into
 * docs/benchmarks.md. Figures are median (min-max) over the rounds; ratios are of the medians.
 */
import { readFileSync } from 'node:fs';
import { fmt, type Spread } from './lib/stats.js';

type Row = [scenario: string, subject: string, baseline: string, ratio: string, target: string];

interface Results {
  scenarios: {
    httpPublish?: {
      rounds: number;
      durationS: number;
      bare: Record<string, Spread>;
      gateway: Record<string, Spread>;
      ratio: number;
    };
    batchPublish?: Record<string, { messages: number; gateway: Spread; direct: Spread; ratio: number }>;
    latency?: {
      rate: number;
      seconds: number;
      accept: Record<'bare' | 'gateway' | 'added', Record<'p50' | 'p99' | 'sentP50' | 'sentP99', Spread>>;
      endToEnd: Record<string, { p50: Spread; p99: Spread }>;
    };
    consume?: Record<string, { messages: number; sdk: Spread; raw: Spread; ratio: number }>;
    failover?: { rounds: number; failoverMs: Spread; acked: number[]; lost: number[]; duplicated: number[] };
    kafkaClients?: { messages: number; kafkajs: Spread; platformatic: Spread; ratio: number };
    outboxDrivers?: {
      connections: number;
      sqlite: Record<'rps' | 'p50' | 'p99', Spread>;
      postgres1: Record<'rps' | 'p50' | 'p99', Spread>;
      postgres3: Record<'rps' | 'p50' | 'p99', Spread>;
      postgresVsSqlite: number;
      scale3: number;
    };
    backlogMemory?: {
      messages: number;
      startMb: number;
      peakMb: number;
      growthMb: number;
      atTenthsMb: number[];
    };
  };
}

/** The rows of one results file. */
export function rows(r: Results): Row[] {
  const out: Row[] = [];
  const s = r.scenarios;
  if (s.httpPublish) {
    const h = s.httpPublish;
    out.push([
      '1. single-message publish, 50 conn.',
      `gateway ${fmt(h.gateway.rps!)} req/s, p50 ${fmt(h.gateway.p50!)} ms, p99 ${fmt(h.gateway.p99!)} ms`,
      `bare route ${fmt(h.bare.rps!)} req/s, p50 ${fmt(h.bare.p50!)} ms, p99 ${fmt(h.bare.p99!)} ms`,
      `${h.ratio}x`,
      '0.8x',
    ]);
  }
  for (const [name, b] of Object.entries(s.batchPublish ?? {})) {
    out.push([
      `2. batch publish e2e, ${name}`,
      `gateway ${fmt(b.gateway)} msg/s`,
      `adapter direct ${fmt(b.direct)} msg/s`,
      `${b.ratio}x`,
      '0.8x',
    ]);
  }
  if (s.latency) {
    const { accept: a, rate } = s.latency;
    out.push([
      `3. accept latency at ${rate} req/s`,
      `gateway p50 ${fmt(a.gateway.p50)} ms, p99 ${fmt(a.gateway.p99)} ms`,
      `bare route p50 ${fmt(a.bare.p50)} ms, p99 ${fmt(a.bare.p99)} ms`,
      `added p50 ${fmt(a.added.p50)} ms, p99 ${fmt(a.added.p99)} ms`,
      'added <= Dapr: 0.35-0.6 / 1.2-1.9 ms',
    ]);
    for (const [name, e] of Object.entries(s.latency.endToEnd)) {
      out.push([
        `3. publish to handler at ${rate} req/s, ${name}`,
        `p50 ${fmt(e.p50)} ms, p99 ${fmt(e.p99)} ms`,
        '-',
        '-',
        '-',
      ]);
    }
  }
  for (const [name, c] of Object.entries(s.consume ?? {})) {
    out.push([
      `4. consume, ${name}`,
      `SDK ${fmt(c.sdk)} msg/s`,
      `plain client ${fmt(c.raw)} msg/s`,
      `${c.ratio}x`,
      '0.8x',
    ]);
  }
  if (s.failover) {
    const f = s.failover;
    out.push([
      '5. failover kafka -> rabbitmq (kill -9)',
      `${fmt(f.failoverMs)} ms to first ack; lost ${f.lost.join('/')}; duplicated ${f.duplicated.join('/')} of ${f.acked.join('/')} acked`,
      '-',
      '-',
      'lost 0',
    ]);
  }
  if (s.httpPublish) {
    out.push([
      '6. RSS under scenario 1',
      `peak ${fmt(s.httpPublish.gateway.rssMb!)} MB`,
      '-',
      '-',
      '< 250 MB',
    ]);
  }
  if (s.backlogMemory) {
    const m = s.backlogMemory;
    out.push([
      `6. RSS, backlog of ${m.messages.toLocaleString('en')} (broker unreachable)`,
      `start ${m.startMb} MB, peak ${m.peakMb} MB, last tenth minus first ${m.growthMb} MB`,
      '-',
      '-',
      '< 250 MB, flat',
    ]);
  }
  if (s.kafkaClients) {
    const k = s.kafkaClients;
    out.push([
      `7. Kafka client, ${k.messages.toLocaleString('en')} records, acks=-1`,
      `@platformatic/kafka ${fmt(k.platformatic)} msg/s`,
      `kafkajs ${fmt(k.kafkajs)} msg/s`,
      `${k.ratio}x`,
      '(claimed ~1.5x)',
    ]);
  }
  if (s.outboxDrivers) {
    const d = s.outboxDrivers;
    const line = (r: Record<'rps' | 'p50' | 'p99', Spread>) =>
      `${fmt(r.rps)} msg/s, p50 ${fmt(r.p50)} ms, p99 ${fmt(r.p99)} ms`;
    out.push([
      `9. outbox drivers, publish, ${d.connections} conn., a key per message`,
      `Postgres, 1 replica: ${line(d.postgres1)}`,
      `SQLite: ${line(d.sqlite)}`,
      `${d.postgresVsSqlite}x`,
      '-',
    ]);
    out.push([
      '9. Postgres outbox, 3 replicas (load split over them)',
      `3 replicas: ${line(d.postgres3)}`,
      `1 replica: ${line(d.postgres1)}`,
      `${d.scale3}x`,
      '-',
    ]);
  }
  return out;
}

const file = process.argv[2];
if (!file) throw new Error('usage: tsx bench/table.ts <results.json>');
const header: Row = ['scenario', 'mqgate', 'baseline (same run)', 'ratio', 'target'];
for (const [i, row] of [header, ...rows(JSON.parse(readFileSync(file, 'utf8')) as Results)].entries()) {
  console.log(`| ${row.join(' | ')} |`);
  if (i === 0) console.log(`|${row.map(() => ' --- ').join('|')}|`);
}
