import { randomUUID } from 'node:crypto';
import { MqgateError } from '../errors.js';
import type { Backend } from '../ports/backend.js';
import { canLease, type LeasedMessage, type LeasingBackend, type SettleOutcome } from '../ports/lease.js';
import type { Router } from '../routing/router.js';

/** A claimed message as a pull client sees it; `token` also names the backend it came from. */
export interface PulledMessage extends LeasedMessage {
  readonly backend: string;
}

export interface ClaimInput {
  readonly group: string;
  readonly topic: string;
  readonly max: number;
  readonly leaseMs: number;
  /** Repeat a claim with the same id to get back what it holds; generated when absent. */
  readonly claimId?: string | undefined;
}

/**
 * Pull consumption with leases over the route's backends. The lease state lives in the brokers (see
 * docs/http-consumers.md), never in this process, so any gateway replica serves any claim, ack or nack.
 * This version supports routes whose backends all lease natively (type `redis`); any other route answers
 * MQGATE_ERR_PULL_UNSUPPORTED rather than hand out a partial view of the topic.
 */
export class PullService {
  readonly #router: Router;
  readonly #backends: ReadonlyMap<string, Backend>;

  constructor(router: Router, backends: ReadonlyMap<string, Backend>) {
    this.#router = router;
    this.#backends = backends;
  }

  /** Claims up to `max` messages over the route's backends, in route order. */
  async claim(input: ClaimInput): Promise<{ claimId: string; messages: PulledMessage[] }> {
    const claimId = input.claimId ?? randomUUID();
    const messages: PulledMessage[] = [];
    for (const backend of this.#leasing(input.topic)) {
      if (messages.length >= input.max) break;
      const got = await backend.claim({ ...input, claimId, max: input.max - messages.length });
      for (const m of got) messages.push({ ...m, token: wrap(backend.name, m.token), backend: backend.name });
    }
    return { claimId, messages };
  }

  /** Acknowledges (`ack`) or releases (`nack`, claimable again after `delayMs`) tokens, outcomes in order. */
  async settle(
    group: string,
    topic: string,
    tokens: readonly string[],
    mode: 'ack' | 'nack',
    delayMs = 0,
  ): Promise<SettleOutcome[]> {
    const backends = new Map(this.#leasing(topic).map((b) => [b.name, b]));
    const parsed = tokens.map((t) => unwrap(t, backends));
    const outcomes: SettleOutcome[] = new Array(tokens.length);
    for (const backend of backends.values()) {
      const idx = parsed.flatMap((p, i) => (p.backend === backend ? [i] : []));
      if (idx.length === 0) continue;
      const inner = idx.map((i) => parsed[i]!.token);
      const result =
        mode === 'ack'
          ? await backend.ack(group, topic, inner)
          : await backend.release(group, topic, inner, delayMs);
      idx.forEach((i, j) => {
        outcomes[i] = result[j]!;
      });
    }
    return outcomes;
  }

  #leasing(topic: string): LeasingBackend[] {
    const route = this.#router.resolve(topic);
    if (!route) {
      throw new MqgateError('MQGATE_ERR_NO_ROUTE', `no route matches topic ${topic}`, { context: { topic } });
    }
    const out: LeasingBackend[] = [];
    for (const name of route.backends) {
      const backend = this.#backends.get(name);
      if (!backend || !canLease(backend)) {
        throw new MqgateError(
          'MQGATE_ERR_PULL_UNSUPPORTED',
          `pull needs a route whose backends are all of type redis; topic ${topic} may be on ${name}` +
            ` (${backend?.type ?? 'unknown'})`,
          { context: { topic, backend: name } },
        );
      }
      out.push(backend);
    }
    return out;
  }
}

function wrap(backend: string, token: string): string {
  return Buffer.from(`${backend}\n${token}`).toString('base64url');
}

function unwrap(
  token: string,
  backends: ReadonlyMap<string, LeasingBackend>,
): { backend: LeasingBackend; token: string } {
  const text = Buffer.from(token, 'base64url').toString();
  const nl = text.indexOf('\n');
  const backend = nl > 0 ? backends.get(text.slice(0, nl)) : undefined;
  if (!backend) {
    throw new MqgateError('MQGATE_ERR_INVALID_LEASE_TOKEN', 'not a lease token of this topic');
  }
  return { backend, token: text.slice(nl + 1) };
}
