import { checkAuth } from './checks-auth.js';
import { closest } from './describe.js';
import type { Problem } from './paths.js';
import { subscriptionProblems } from './subscriptions.js';
import { parseDuration } from './units.js';

/**
 * Checks that span keys, which the schema cannot express: routes name existing backends, Redis connections
 * are either a URL or Sentinel, retry delays are ordered, no route is shadowed. They read the raw data
 * defensively, so they also run (and report) when the schema found problems elsewhere.
 */

type Mapping = Record<string, unknown>;

const isMapping = (value: unknown): value is Mapping =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

const BACKEND_NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;

export function crossCheck(data: unknown): Problem[] {
  if (!isMapping(data)) return [];
  const backends = isMapping(data.backends) ? data.backends : {};
  return [
    ...checkBackends(backends),
    ...checkRoutes(data.routes, Object.keys(backends)),
    ...checkRelay(data.relay),
    ...checkAuth(data.auth),
    ...checkSubscriptions(data.subscriptions),
  ];
}

function checkBackends(backends: Mapping): Problem[] {
  const problems: Problem[] = [];
  for (const [name, backend] of Object.entries(backends)) {
    if (!BACKEND_NAME_RE.test(name)) {
      problems.push({
        path: ['backends', name],
        message: 'invalid backend name (use 1-64 letters, digits, _ or -)',
      });
    }
    if (isMapping(backend) && (backend.type === 'redis' || backend.type === 'bullmq')) {
      problems.push(...checkRedisConnection(['backends', name], backend));
    }
  }
  return problems;
}

function checkRedisConnection(path: string[], backend: Mapping): Problem[] {
  const hasUrl = backend.url !== undefined;
  const hasSentinels = backend.sentinels !== undefined;
  if (hasUrl && hasSentinels) return [{ path, message: 'set either url or sentinels + name, not both' }];
  if (!hasUrl && !hasSentinels) {
    return [{ path: [...path, 'url'], message: 'missing; expected a redis:// URL, or sentinels + name' }];
  }
  if (hasSentinels && backend.name === undefined) {
    return [
      { path: [...path, 'name'], message: 'missing; expected the Sentinel master name (sentinels are set)' },
    ];
  }
  if (hasUrl && backend.name !== undefined) {
    return [{ path: [...path, 'name'], message: 'only used with sentinels (remove it, or use sentinels)' }];
  }
  if (hasUrl && backend.password !== undefined) {
    return [
      { path: [...path, 'password'], message: 'only used with sentinels (put the password in the url)' },
    ];
  }
  return [];
}

function checkRoutes(routes: unknown, names: readonly string[]): Problem[] {
  if (!Array.isArray(routes)) return [];
  const problems: Problem[] = [];
  const seen = new Map<string, number>();
  routes.forEach((route: unknown, i) => {
    if (!isMapping(route)) return;
    // With no backends at all, that one problem is already reported; a line per route entry would be noise.
    if (Array.isArray(route.backends) && names.length > 0) {
      route.backends.forEach((name: unknown, j) => {
        if (typeof name !== 'string' || names.includes(name)) return;
        const hint = closest(name, names);
        const suffix = hint ? ` (did you mean "${hint}"?)` : ` (backends: ${names.join(', ')})`;
        problems.push({ path: ['routes', i, 'backends', j], message: `no backend named "${name}"${suffix}` });
      });
    }
    if (typeof route.match !== 'string') return;
    const earlier = seen.get(route.match) ?? seen.get('*');
    if (earlier !== undefined) {
      const why = seen.has(route.match) ? `matches "${route.match}" too` : 'matches every topic';
      problems.push({
        path: ['routes', i, 'match'],
        message: `unreachable: routes[${earlier}] ${why} and comes first`,
      });
    } else {
      seen.set(route.match, i);
    }
  });
  return problems;
}

function checkRelay(relay: unknown): Problem[] {
  if (!isMapping(relay)) return [];
  const initial = parseDuration(relay.backoffInitial);
  const max = parseDuration(relay.backoffMax);
  if (initial === undefined || max === undefined || initial <= max) return [];
  return [
    {
      path: ['relay', 'backoffInitial'],
      message: `must not exceed relay.backoffMax (${String(relay.backoffMax)})`,
    },
  ];
}

/** Each subscription's own checks (see subscriptionProblems) at `subscriptions[i]`, and unique names. */
function checkSubscriptions(subscriptions: unknown): Problem[] {
  if (!Array.isArray(subscriptions)) return [];
  const problems: Problem[] = [];
  const names = new Map<string, number>();
  subscriptions.forEach((s: unknown, i) => {
    if (!isMapping(s)) return;
    for (const p of subscriptionProblems(s))
      problems.push({ path: ['subscriptions', i, ...p.path], message: p.message });
    if (typeof s.name !== 'string') return;
    const first = names.get(s.name);
    if (first === undefined) names.set(s.name, i);
    else
      problems.push({
        path: ['subscriptions', i, 'name'],
        message: `"${s.name}" is taken by subscriptions[${first}]`,
      });
  });
  return problems;
}
