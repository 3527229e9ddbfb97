/** A tiny client of the pull API, for tests. */
export interface Claimed {
  readonly token: string;
  readonly id: string;
  readonly key?: string;
  readonly seq: number;
  readonly deliveries: number;
  readonly data?: unknown;
}

export async function claim(
  url: string,
  group: string,
  topic: string,
  body: { max: number; leaseMs: number; claimId?: string },
): Promise<{ claimId: string; messages: Claimed[] }> {
  const res = await fetch(`${url}/v1/groups/${group}/topics/${topic}:claim`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 200) throw new Error(`claim answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as { claimId: string; messages: Claimed[] };
}

export async function settle(
  url: string,
  group: string,
  topic: string,
  mode: 'ack' | 'nack',
  tokens: readonly string[],
  delayMs = 0,
): Promise<string[]> {
  const res = await fetch(`${url}/v1/groups/${group}/topics/${topic}:${mode}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(mode === 'nack' ? { tokens, delayMs } : { tokens }),
  });
  if (res.status !== 200) throw new Error(`${mode} answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { results: { status: string }[] }).results.map((r) => r.status);
}

/** Publishes `count` JSON messages with ids `${prefix}-${i}` and keys over `keys` keys; returns the ids. */
export async function publishMany(url: string, topic: string, prefix: string, count: number, keys = 4) {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = `${prefix}-${i}`;
    const res = await fetch(`${url}/v1/topics/${topic}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id, key: `k${i % keys}`, data: { i } }),
    });
    if (res.status !== 202) throw new Error(`publish answered ${res.status}: ${await res.text()}`);
    ids.push(id);
  }
  return ids;
}
