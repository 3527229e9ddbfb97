// The read-only panels: backends, routes with their failover timeline, outbox stats.

import { fill, formatBytes, formatDuration, h, timeAgo } from './dom.js';

const STATE_TEXT = { closed: 'closed (healthy)', 'half-open': 'half-open (on trial)', open: 'open (down)' };

/** The breaker state as a coloured badge whose text says the same (colour is never the only cue). */
export function stateBadge(state) {
  return h('span', { class: `badge state-${state}`, 'data-state': state }, STATE_TEXT[state] ?? state);
}

/** Fills #backends from GET /v1/backends. */
export function renderBackends(tbody, { backends }, now) {
  fill(
    tbody,
    backends.map((b) =>
      h(
        'tr',
        { 'data-backend': b.name, 'data-state': b.state },
        h('th', { scope: 'row' }, b.name),
        h('td', {}, b.type),
        h('td', {}, stateBadge(b.state)),
        h('td', {}, b.connected ? 'yes' : 'no'),
        h('td', {}, timeAgo(b.since, now)),
        h(
          'td',
          { class: b.state === 'closed' ? 'error muted' : 'error' },
          b.lastError
            ? [h('code', {}, b.lastError.code), ' ', b.lastError.message, ' · ', timeAgo(b.lastError.at, now)]
            : '–',
        ),
      ),
    ),
  );
}

function backendList(route) {
  const items = route.backends.map((name, i) =>
    h(
      'li',
      name === route.active ? { class: 'active', 'aria-current': 'true' } : {},
      h('span', { class: 'name' }, name),
      name === route.active ? h('span', { class: 'sr-only' }, ' (active)') : null,
      i < route.backends.length - 1 ? h('span', { 'aria-hidden': 'true', class: 'arrow' }, '→') : null,
    ),
  );
  return h('ol', { class: 'chain' }, ...items);
}

/** Fills #routes and the #timeline of switches from GET /v1/routes. */
export function renderRoutes(tbody, timeline, { routes, switches }, now) {
  fill(
    tbody,
    routes.map((r) =>
      h(
        'tr',
        { 'data-match': r.match, 'data-active': r.active ?? '' },
        h('th', { scope: 'row' }, h('code', {}, r.match)),
        h('td', {}, r.mode),
        h('td', {}, backendList(r)),
        h(
          'td',
          { class: 'active-cell' },
          r.active ?? (r.mode === 'failover' ? h('em', {}, 'none usable') : h('em', {}, `all (${r.mode})`)),
        ),
      ),
    ),
  );
  // Newest first; the initial placements are noise once a route has moved, but say where it started.
  const items = [...switches].reverse().slice(0, 50);
  if (items.length === 0) {
    fill(timeline, h('li', { class: 'muted' }, 'No route has moved yet.'));
    return;
  }
  fill(
    timeline,
    items.map((s) =>
      h(
        'li',
        { class: 'switch', 'data-reason': s.reason, 'data-to': s.to },
        timeAgo(s.at, now),
        ' ',
        h('span', { class: `tag reason-${s.reason}` }, s.reason),
        ' ',
        h('code', {}, s.match),
        ': ',
        s.from ? `${s.from} → ${s.to}` : `on ${s.to}`,
      ),
    ),
  );
}

/** Fills the #outbox stats from GET /v1/outbox. */
export function renderOutbox(dl, stats) {
  const text = {
    depth: stats.depth.toLocaleString(),
    bytes: formatBytes(stats.bytes),
    oldestAgeMs: stats.depth === 0 ? '–' : formatDuration(stats.oldestAgeMs),
    dead: stats.dead.toLocaleString(),
  };
  for (const [k, v] of Object.entries(text)) {
    const dd = dl.querySelector(`[data-k="${k}"]`);
    dd.textContent = v;
    dd.dataset.value = String(stats[k]);
  }
}
