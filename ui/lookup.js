// Message lookup by id: GET /v1/messages/{id}, shown as a description list.

import { ApiError, getJson } from './api.js';
import { fill, h, timeAgo } from './dom.js';

const STATUS_TEXT = {
  accepted: 'accepted: in the outbox, waiting for a backend',
  delivering: 'delivering: a backend is being tried',
  delivered: 'delivered',
  dead: 'dead: in the dead-letter store',
};

function pair(term, ...value) {
  return h('div', {}, h('dt', {}, term), h('dd', {}, ...value));
}

function where(d) {
  const parts = [];
  if (d.partition !== undefined && d.partition !== null) parts.push(`partition ${d.partition}`);
  if (d.offset !== undefined && d.offset !== null) parts.push(`offset ${d.offset}`);
  return parts.length ? parts.join(', ') : '–';
}

/** What a status says, as DOM nodes. */
export function describe(s) {
  const items = [
    pair(
      'Status',
      h(
        'span',
        { class: `badge status-${s.status}`, 'data-status': s.status },
        STATUS_TEXT[s.status] ?? s.status,
      ),
    ),
    pair('Topic', h('code', {}, s.topic)),
    s.key === undefined ? null : pair('Key', s.key),
    pair('Seq', s.seq),
    pair('Attempts', s.attempts),
    pair('Accepted', timeAgo(s.acceptedAt)),
  ];
  if (s.status === 'delivered') {
    items.push(pair('Backend', s.backend ?? '–'), pair('Where', where(s)));
    if (s.deliveredAt) items.push(pair('Delivered', timeAgo(s.deliveredAt)));
  }
  if (s.error)
    items.push(
      pair(s.status === 'dead' ? 'Error' : 'Last error', h('code', {}, s.error.code), ' ', s.error.message),
    );
  const out = [h('dl', { class: 'stats detail' }, ...items)];
  const deliveries = Object.entries(s.deliveries ?? {});
  if (deliveries.length > 0) {
    out.push(
      h(
        'table',
        { class: 'deliveries' },
        h('caption', {}, 'Deliveries per backend (mirror route)'),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, 'Backend'),
            h('th', { scope: 'col' }, 'Where'),
            h('th', { scope: 'col' }, 'Acknowledged'),
          ),
        ),
        h(
          'tbody',
          {},
          ...deliveries.map(([name, d]) =>
            h(
              'tr',
              { 'data-backend': name },
              h('th', { scope: 'row' }, name),
              h('td', {}, where(d)),
              h('td', {}, timeAgo(new Date(d.at).toISOString())),
            ),
          ),
        ),
      ),
    );
  }
  return out;
}

/** Wires the #lookup form. */
export function setupLookup(form, out) {
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const id = form.elements.id.value.trim();
    if (id === '') return;
    out.dataset.state = 'loading';
    try {
      const status = await getJson(`v1/messages/${encodeURIComponent(id)}`);
      fill(out, h('h3', {}, 'Message ', h('code', {}, id)), ...describe(status));
      out.dataset.state = status.status;
    } catch (err) {
      const text =
        err instanceof ApiError && err.status === 404
          ? `No message with id “${id}” (or it was pruned).`
          : `Lookup failed: ${err.message}`;
      fill(out, h('p', { class: 'bad' }, text));
      out.dataset.state = 'error';
    }
  });
}
