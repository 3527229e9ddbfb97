// The dead letters: a filterable table with Replay and Delete per message.

import { ApiError, getJson, send } from './api.js';
import { fill, h, timeAgo } from './dom.js';

/**
 * Owns the #dlq section. `refresh()` reloads the list (the first 500 dead messages by id). Rows are only
 * rebuilt when the list or the filter changes, so keyboard focus on a button survives the polling.
 */
export class DeadLetters {
  constructor(root, onChange) {
    this.tbody = root.querySelector('#dlq tbody');
    this.table = root.querySelector('#dlq');
    this.empty = root.querySelector('#dlq-empty');
    this.result = root.querySelector('#dlq-result');
    this.filter = root.querySelector('#dlq-filter');
    this.onChange = onChange;
    this.messages = [];
    this.shown = '';
    this.filter.addEventListener('input', () => this.render());
  }

  async refresh() {
    const page = await getJson('v1/dlq?limit=500');
    this.messages = page.messages;
    this.more = page.next !== null;
    this.render();
  }

  render() {
    const q = this.filter.value.trim().toLowerCase();
    const rows = this.messages.filter(
      (m) => q === '' || m.id.toLowerCase().includes(q) || m.topic.toLowerCase().includes(q),
    );
    const signature = JSON.stringify([q, rows]);
    if (signature === this.shown) return;
    this.shown = signature;
    // Keep focus where it was when the row it sat in is still there.
    const focused = document.activeElement?.closest?.('#dlq tr[data-id]');
    const focusKey = focused ? [focused.dataset.id, document.activeElement.dataset.action] : undefined;
    fill(
      this.tbody,
      rows.map((m) => this.row(m)),
    );
    if (focusKey) {
      const again = [...this.tbody.querySelectorAll('tr[data-id]')].find(
        (tr) => tr.dataset.id === focusKey[0],
      );
      again?.querySelector(`[data-action="${focusKey[1]}"]`)?.focus();
    }
    this.table.hidden = rows.length === 0;
    this.empty.hidden = rows.length > 0;
    this.empty.textContent =
      this.messages.length === 0 ? 'No dead letters.' : `No dead letter matches “${this.filter.value}”.`;
    if (this.more) this.empty.textContent += ' (Showing the first 500 by id.)';
  }

  row(m) {
    const label = `message ${m.id}`;
    return h(
      'tr',
      { 'data-id': m.id },
      h('th', { scope: 'row' }, h('code', {}, m.id)),
      h('td', {}, h('code', {}, m.topic)),
      h('td', {}, m.key ?? '–'),
      h('td', { class: 'num' }, m.attempts),
      h('td', {}, m.backend ?? '–'),
      h(
        'td',
        { class: 'error' },
        m.error ? [h('code', {}, m.error.code), ' ', m.error.message] : '–',
        h('br'),
        h('span', { class: 'muted' }, 'accepted ', timeAgo(m.acceptedAt)),
      ),
      h(
        'td',
        { class: 'actions' },
        h(
          'button',
          {
            type: 'button',
            'data-action': 'replay',
            'aria-label': `Replay ${label}`,
            onclick: () => this.replay(m),
          },
          'Replay',
        ),
        h(
          'button',
          {
            type: 'button',
            class: 'danger',
            'data-action': 'delete',
            'aria-label': `Delete ${label}`,
            onclick: () => this.remove(m),
          },
          'Delete',
        ),
      ),
    );
  }

  async replay(m) {
    await this.act(
      () => send('POST', `v1/dlq/${encodeURIComponent(m.id)}/replay`),
      `Replayed ${m.id}: back in the outbox.`,
    );
  }

  async remove(m) {
    if (!window.confirm(`Delete dead message ${m.id} for good?`)) return;
    await this.act(() => send('DELETE', `v1/dlq/${encodeURIComponent(m.id)}`), `Deleted ${m.id}.`);
  }

  async act(call, done) {
    try {
      await call();
      this.result.textContent = done;
      this.result.className = 'result ok';
    } catch (err) {
      this.result.textContent = `Failed: ${err instanceof ApiError ? `${err.code} ${err.message}` : err}`;
      this.result.className = 'result bad';
    }
    await this.onChange();
  }
}
