// The dashboard's main loop: polls the admin API once a second and renders every panel.

import { ApiError, getJson, getText, getToken, setToken, sumCounters } from './api.js';
import { RateChart } from './chart.js';
import { DeadLetters } from './dlq.js';
import { setupLookup } from './lookup.js';
import { renderBackends, renderOutbox, renderRoutes } from './panels.js';

const POLL_MS = 1000;
const ACCEPTED = 'mqgate_messages_accepted_total';
const DELIVERED = 'mqgate_messages_delivered_total';

const $ = (sel) => document.querySelector(sel);

const conn = $('#conn');
const charts = {
  accepted: new RateChart($('#chart-accepted'), 'Accepted'),
  delivered: new RateChart($('#chart-delivered'), 'Delivered'),
};
const dlq = new DeadLetters(document, () => poll());
setupLookup($('#lookup'), $('#lookup-out'));

function status(text, state) {
  // Only touch the live region when the text changes: it is announced each time.
  if (conn.textContent !== text) conn.textContent = text;
  conn.dataset.state = state;
}

let inFlight;
let timer;

/** One round: every panel from the API. Concurrent calls share the round in flight. */
function poll() {
  inFlight ??= round().finally(() => {
    inFlight = undefined;
  });
  return inFlight;
}

async function round() {
  const now = Date.now();
  try {
    const [backends, routes, outbox, metrics] = await Promise.all([
      getJson('v1/backends'),
      getJson('v1/routes'),
      getJson('v1/outbox'),
      getText('metrics').catch(() => ''),
      dlq.refresh(),
    ]);
    renderBackends($('#backends tbody'), backends, now);
    renderRoutes($('#routes tbody'), $('#timeline'), routes, now);
    renderOutbox($('#outbox'), outbox);
    if (metrics) {
      const totals = sumCounters(metrics, [ACCEPTED, DELIVERED]);
      charts.accepted.push(totals[ACCEPTED], now);
      charts.delivered.push(totals[DELIVERED], now);
    }
    status('Live', 'live');
    $('#updated').textContent = `updated ${new Date(now).toLocaleTimeString()}`;
    document.body.dataset.loaded = 'true';
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      status('This gateway needs a credential: enter an API key or token above.', 'auth');
    } else if (err instanceof ApiError && err.status === 403) {
      status(`Not allowed: the admin right is needed (${err.message}).`, 'auth');
    } else {
      status(`Gateway unreachable or failing: ${err.message}. Retrying…`, 'down');
    }
  }
}

function loop() {
  clearTimeout(timer);
  // Pause while the tab is hidden; one round at once when it comes back.
  if (document.hidden) return;
  poll().finally(() => {
    timer = setTimeout(loop, POLL_MS);
  });
}

const tokenInput = $('#token');
tokenInput.value = getToken();
$('#auth').addEventListener('submit', (e) => {
  e.preventDefault();
  setToken(tokenInput.value.trim());
  loop();
});
$('#token-clear').addEventListener('click', () => {
  tokenInput.value = '';
  setToken('');
  loop();
});
document.addEventListener('visibilitychange', loop);
loop();
