// The admin API as the dashboard calls it: relative URLs (the page is served at <prefix>/ui/), the user's
// credential from sessionStorage as a bearer token, problem+json errors turned into ApiError.

const TOKEN_KEY = 'mqgate.token';

/** An HTTP error answer, with the problem's stable code when the body has one. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}

export function setToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

async function request(path, init = {}) {
  const headers = { accept: 'application/json', ...(init.headers ?? {}) };
  const token = getToken();
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`../${path}`, { ...init, headers, cache: 'no-store' });
  if (!res.ok) {
    let code = '';
    let message = `${res.status} ${res.statusText}`;
    try {
      const body = await res.json();
      code = body.code ?? '';
      message = body.detail ?? body.message ?? body.title ?? message;
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiError(res.status, code, message);
  }
  return res;
}

/** GET a JSON resource of the API. */
export async function getJson(path) {
  return (await request(path)).json();
}

/** GET a text resource (the Prometheus metrics). */
export async function getText(path) {
  return (await request(path, { headers: { accept: 'text/plain' } })).text();
}

/** POST or DELETE with no body; resolves with the answer's status. */
export async function send(method, path) {
  return (await request(path, { method })).status;
}

/**
 * Sums every sample of the named counters in a Prometheus text exposition, whatever their labels.
 * Returns a map name -> total (0 when absent).
 */
export function sumCounters(text, names) {
  const totals = Object.fromEntries(names.map((n) => [n, 0]));
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const name = line.slice(0, line.search(/[{\s]/));
    if (!(name in totals)) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) totals[name] += value;
  }
  return totals;
}
