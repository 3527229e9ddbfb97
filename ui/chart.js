// A live rate chart in inline SVG: the last `size` samples of a counter's per-second rate.

const NS = 'http://www.w3.org/2000/svg';
const W = 240;
const H = 60;

function svg(tag, attrs) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/** Formats a rate for display: "0", "3.5", "1,200". */
export function formatRate(r) {
  return r >= 100 ? Math.round(r).toLocaleString() : String(Math.round(r * 10) / 10);
}

/**
 * Owns the <svg> inside `figure` (whose <output data-now> shows the latest value). `push(counter, atMs)` takes
 * the counter's running total; the rate is the difference to the previous total over the elapsed time. A
 * counter that goes down (the gateway restarted) starts over.
 */
export class RateChart {
  constructor(figure, label, size = 60) {
    this.label = label;
    this.size = size;
    this.samples = [];
    this.last = undefined;
    this.now = figure.querySelector('[data-now]');
    this.svg = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', preserveAspectRatio: 'none' });
    this.title = svg('title', {});
    this.area = svg('path', { class: 'area' });
    this.line = svg('polyline', { class: 'line', fill: 'none' });
    this.max = svg('text', { x: 4, y: 12, class: 'max' });
    this.svg.append(this.title, this.area, this.line, this.max);
    figure.prepend(this.svg);
    this.render();
  }

  push(total, atMs) {
    if (this.last !== undefined && total >= this.last.total && atMs > this.last.atMs) {
      this.samples.push(((total - this.last.total) * 1000) / (atMs - this.last.atMs));
      if (this.samples.length > this.size) this.samples.shift();
    }
    this.last = { total, atMs };
    this.render();
  }

  render() {
    const s = this.samples;
    const current = s.length ? s[s.length - 1] : 0;
    const peak = Math.max(1, ...s);
    const step = W / (this.size - 1);
    const x0 = W - (s.length - 1) * step;
    const pts = s.map(
      (v, i) => `${(x0 + i * step).toFixed(1)},${(H - 2 - (v / peak) * (H - 16)).toFixed(1)}`,
    );
    this.line.setAttribute('points', pts.join(' '));
    this.area.setAttribute('d', pts.length > 1 ? `M${x0},${H} L${pts.join(' L')} L${W},${H} Z` : '');
    this.max.textContent = `max ${formatRate(peak)}/s`;
    const text = `${this.label}: ${formatRate(current)} per second now, peak ${formatRate(Math.max(0, ...s))} over the last ${s.length} s`;
    this.title.textContent = text;
    this.svg.setAttribute('aria-label', text);
    this.now.textContent = s.length ? `${formatRate(current)}/s` : '–';
  }
}
