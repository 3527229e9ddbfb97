/** Reading V8 CPU profiles (`node --cpu-prof`, or the inspector's Profiler) for the bench's profiles. */

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** Self time per function (name, file:line) as a share of all samples, highest first. */
export function topSelfTime(profile: { nodes: ProfileNode[] }, top = 15): { fn: string; pct: number }[] {
  const hits = new Map<string, number>();
  let total = 0;
  for (const n of profile.nodes) {
    const h = n.hitCount ?? 0;
    total += h;
    const file = n.callFrame.url.replace(/^.*\/(node_modules|src|adapters)\//, '$1/');
    const fn =
      `${n.callFrame.functionName || '(anonymous)'} ${file ? `${file}:${n.callFrame.lineNumber + 1}` : ''}`.trim();
    hits.set(fn, (hits.get(fn) ?? 0) + h);
  }
  return [...hits]
    .map(([fn, h]) => ({ fn, pct: Math.round((h / total) * 1000) / 10 }))
    .sort((a, b) => b.pct - a.pct)
    .slice(0, top);
}
