/** A route as the router needs it: a topic glob and the backends, in priority order. */
export interface RouteRule {
  readonly match: string;
  readonly backends: readonly string[];
  readonly mode: 'failover' | 'mirror' | 'balance';
}

export interface ResolvedRoute extends RouteRule {
  /** Position of the rule in the config, for `GET /v1/routes`. */
  readonly index: number;
}

/** `*` matches any run of characters (dots included), `?` one character; everything else is literal. */
export function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`);
}

/**
 * Maps a topic to the first route (in config order) whose glob matches it. Pure and cached: the same topic
 * always resolves to the same route for the life of the config.
 */
export class Router {
  readonly #rules: { rule: ResolvedRoute; re: RegExp }[];
  readonly #cache = new Map<string, ResolvedRoute | null>();

  constructor(rules: readonly RouteRule[]) {
    this.#rules = rules.map((r, index) => ({ rule: { ...r, index }, re: globToRegExp(r.match) }));
  }

  /** The route for a topic, or undefined when none matches. */
  resolve(topic: string): ResolvedRoute | undefined {
    const hit = this.#cache.get(topic);
    if (hit !== undefined) return hit ?? undefined;
    const found = this.#rules.find(({ re }) => re.test(topic))?.rule ?? null;
    if (this.#cache.size > 10_000) this.#cache.clear();
    this.#cache.set(topic, found);
    return found ?? undefined;
  }

  get routes(): readonly ResolvedRoute[] {
    return this.#rules.map(({ rule }) => rule);
  }
}
