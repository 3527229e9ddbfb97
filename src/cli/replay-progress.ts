import { type ClientOptions, call } from './gateway-client.js';

/** What `dlq replay --all` replays. */
export interface ReplayAllOptions {
  /** Only the dead messages of this topic; all topics when absent. */
  readonly topic?: string | undefined;
  /** Replay them to this topic as new messages (see `POST /v1/dlq:replay` `toTopic`). */
  readonly toTopic?: string | undefined;
  /** Messages per request. */
  readonly pageSize: number;
  /** Where progress goes: `replayed N/M` updated in place on a TTY, one plain line per page otherwise. */
  readonly progress: NodeJS.WritableStream & { isTTY?: boolean };
}

export interface ReplayAllResult {
  readonly replayed: number;
  /** Dead messages counted before the first page. */
  readonly total: number;
  /** Dead messages of the filter remain (some died again, or new ones arrived meanwhile). */
  readonly more: boolean;
}

async function deadCount(client: ClientOptions, topic: string | undefined): Promise<number> {
  if (topic === undefined) return ((await call(client, 'GET', '/v1/outbox')) as { dead: number }).dead;
  const { topics } = (await call(client, 'GET', '/v1/outbox/topics')) as {
    topics: { topic: string; dead: number }[];
  };
  return topics.find((t) => t.topic === topic)?.dead ?? 0;
}

/**
 * Replays every dead message of the filter counted at the start (M), a page per request to the bulk replay
 * endpoint, reporting `replayed N/M` after each page. Stops at M, so messages that die again while it runs
 * are not replayed in a loop (`more` tells). Rejects with the CliError of a failed request; what was
 * replayed until then stays replayed.
 */
export async function replayAll(client: ClientOptions, o: ReplayAllOptions): Promise<ReplayAllResult> {
  const total = await deadCount(client, o.topic);
  const tty = o.progress.isTTY === true;
  const report = (n: number) =>
    o.progress.write(tty ? `\r\x1b[Kreplayed ${n}/${total}` : `replayed ${n}/${total}\n`);
  let replayed = 0;
  let more = total > 0;
  report(0);
  try {
    while (replayed < total && more) {
      const body = JSON.stringify({
        ...(o.topic === undefined ? {} : { topic: o.topic }),
        ...(o.toTopic === undefined ? {} : { toTopic: o.toTopic }),
        limit: Math.min(o.pageSize, total - replayed),
      });
      const page = (await call(client, 'POST', '/v1/dlq:replay', {
        bytes: body,
        contentType: 'application/json',
      })) as { replayed: number; more: boolean };
      replayed += page.replayed;
      more = page.more && page.replayed > 0;
      report(replayed);
    }
  } finally {
    if (tty) o.progress.write('\n');
  }
  return { replayed, total, more };
}
