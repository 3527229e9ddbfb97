/**
 * Bounds the `topic` label of metrics: the first `max` distinct topics keep their name, every later one is
 * reported as `other`. Each label value is a time series in Prometheus; topics come from clients, so without a
 * cap one client inventing topic names could exhaust the scraper's memory.
 */
export class TopicLabels {
  static readonly OTHER = 'other';
  readonly #seen = new Set<string>();

  constructor(readonly max = 1_000) {}

  label(topic: string): string {
    if (this.#seen.has(topic)) return topic;
    if (this.#seen.size >= this.max) return TopicLabels.OTHER;
    this.#seen.add(topic);
    return topic;
  }
}
