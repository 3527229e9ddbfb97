// Small DOM helpers. Data only ever reaches the page as text nodes (never as markup).

/**
 * Creates an element: h('td', { class: 'x' }, 'text', child, [more]). Arrays are flattened; `null` and
 * `undefined` children are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

/** Replaces the children of `el`. */
export function fill(el, ...children) {
  el.replaceChildren(...children.flat().filter((c) => c !== undefined && c !== null));
}

/** "1.2 KiB", "3.4 MiB". */
export function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = -1;
  do {
    v /= 1024;
    i++;
  } while (v >= 1024 && i < units.length - 1);
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** "850 ms", "12 s", "4 min 5 s", "2 h 3 min". */
export function formatDuration(ms) {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours} h ${m % 60} min`;
  return `${Math.floor(hours / 24)} d`;
}

/** A <time> with the local clock time, and how long ago in its title. */
export function timeAgo(iso, now = Date.now()) {
  const at = Date.parse(iso);
  if (!Number.isFinite(at)) return h('span', {}, '–');
  const ago = formatDuration(Math.max(0, now - at));
  return h('time', { datetime: iso, title: iso }, `${new Date(at).toLocaleTimeString()} (${ago} ago)`);
}
