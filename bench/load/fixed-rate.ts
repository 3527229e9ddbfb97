/**
 * An open-loop load generator (its own process), for scenario 3: POSTs one small JSON message to `url` at a
 * fixed `rate` for `seconds`, whether or not earlier answers came back (keep-alive connections, as many as
 * are busy), and prints one JSON line with the answers' latency percentiles in milliseconds, microsecond
 * resolution (autocannon's histogram counts whole milliseconds, too coarse next to Dapr's 0.35 ms).
 *
 * Latency runs from the request's scheduled send time (not the moment it left), so a stalled generator or
 * server shows up as latency instead of as fewer requests (coordinated omission). The first `warmupS`
 * seconds are sent but not counted. With `--stamp`, each body carries its scheduled send time as wall-clock
 * epoch milliseconds (`data.sentAt`), for the end-to-end measurement.
 *
 * `node --import tsx bench/load/fixed-rate.ts <url> <rate> <seconds> [warmupS] [--stamp]`
 */
import http from 'node:http';

interface Summary {
  rate: number;
  seconds: number;
  sent: number;
  counted: number;
  non2xx: number;
  errors: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** The same from the moment the request was handed to the socket (no generator lag), ms. */
  sentP50: number;
  sentP99: number;
  /** How far behind schedule the generator itself fell at worst, ms. */
  maxLagMs: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return Math.round((sorted[Math.max(0, i)] as number) * 1000) / 1000;
}

async function main(): Promise<void> {
  const [url, rateArg, secondsArg, warmupArg] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const stamp = process.argv.includes('--stamp');
  if (!url || !rateArg || !secondsArg)
    throw new Error('usage: fixed-rate.ts <url> <rate> <seconds> [warmupS] [--stamp]');
  const rate = Number(rateArg);
  const seconds = Number(secondsArg);
  const warmupS = Number(warmupArg ?? 1);
  const target = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const total = Math.round(rate * (seconds + warmupS));
  const skip = Math.round(rate * warmupS);
  const latencies = new Float64Array(total - skip);
  const service = new Float64Array(total - skip);
  let counted = 0;
  let non2xx = 0;
  let errors = 0;
  let settled = 0;
  let maxLagMs = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const origin = performance.timeOrigin;

  const send = (i: number, scheduled: number) => {
    const sentAt = performance.now();
    const body = JSON.stringify({
      key: `k-${i % 64}`,
      data: stamp ? { order: i, sentAt: origin + scheduled } : { order: i, items: ['a', 'b'] },
    });
    const req = http.request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          const ms = performance.now() - scheduled;
          if ((res.statusCode ?? 0) >= 300) non2xx++;
          else if (i >= skip) {
            service[counted] = performance.now() - sentAt;
            latencies[counted++] = ms;
          }
          if (++settled === total) done();
        });
      },
    );
    req.on('error', () => {
      errors++;
      if (++settled === total) done();
    });
    req.end(body);
  };

  const start = performance.now() + 20;
  let next = 0;
  const tick = () => {
    const now = performance.now();
    while (next < total) {
      const scheduled = start + (next * 1000) / rate;
      if (scheduled > now) break;
      maxLagMs = Math.max(maxLagMs, now - scheduled);
      send(next, scheduled);
      next++;
    }
    if (next < total) setTimeout(tick, Math.max(0, start + (next * 1000) / rate - performance.now()));
  };
  setTimeout(tick, 20);
  await finished;
  agent.destroy();
  const sorted = latencies.subarray(0, counted).sort();
  const serviceSorted = service.subarray(0, counted).sort();
  const summary: Summary = {
    rate,
    seconds,
    sent: total,
    counted,
    non2xx,
    errors,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: percentile(sorted, 100),
    sentP50: percentile(serviceSorted, 50),
    sentP99: percentile(serviceSorted, 99),
    maxLagMs: Math.round(maxLagMs * 1000) / 1000,
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
