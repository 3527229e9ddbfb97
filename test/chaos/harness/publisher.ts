import type { Acked } from './accounting.js';

export interface PublisherStats {
  sent: number;
  refused: number;
  /** Status codes other than 202/503 or network errors: each one is a defect to report. */
  errors: string[];
  acked: Acked[];
  /** Requests that got no answer (gateway killed): their messages may or may not be stored. */
  unanswered: string[];
}

/**
 * A steady publisher over HTTP: `workers` loops, each posting one message every `intervalMs`, keys spread
 * over `keys`. Records what the gateway acknowledged (202 + seq). A 503 (budget spent) is counted as refused;
 * anything else unexpected is kept in `errors`. A request the gateway never answered (it was killed) is
 * neither acked nor refused: its message may or may not be stored, which the checker allows for.
 */
export class SteadyPublisher {
  readonly stats: PublisherStats = { sent: 0, refused: 0, errors: [], acked: [], unanswered: [] };
  #running = false;
  #loops: Promise<void>[] = [];
  #next = 0;

  constructor(
    private url: () => string,
    private readonly topic: string,
    private readonly options: { workers: number; intervalMs: number; keys: number; tolerateDown?: boolean },
  ) {}

  start(): void {
    this.#running = true;
    this.#loops = Array.from({ length: this.options.workers }, () => this.#loop());
  }

  async stop(): Promise<PublisherStats> {
    this.#running = false;
    await Promise.all(this.#loops);
    return this.stats;
  }

  async #loop(): Promise<void> {
    while (this.#running) {
      const i = this.#next++;
      const id = `c-${i}`;
      const key = `k-${i % this.options.keys}`;
      this.stats.sent++;
      try {
        const res = await fetch(`${this.url()}/v1/topics/${this.topic}/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ id, key, data: { i } }),
          signal: AbortSignal.timeout(10_000),
        });
        if (res.status === 202) {
          const body = (await res.json()) as { seq: number };
          this.stats.acked.push({ id, key, seq: body.seq });
        } else if (res.status === 503) {
          this.stats.refused++;
          await res.body?.cancel();
        } else {
          this.stats.errors.push(`${id}: HTTP ${res.status} ${await res.text()}`);
        }
      } catch (err) {
        if (this.options.tolerateDown) this.stats.unanswered.push(id);
        else this.stats.errors.push(`${id}: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, this.options.intervalMs));
    }
  }
}
