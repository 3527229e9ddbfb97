import { afterEach, describe, expect, it } from 'vitest';
import { CliError, EXIT } from '../../src/cli/gateway-client.js';
import { replayAll } from '../../src/cli/replay-progress.js';
import { type TestApp, testApp } from '../helpers/test-app.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** A progress sink that records what was written, as a TTY or not. */
function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, stream: Object.assign({ write: (s: string) => chunks.push(s) > 0 }, { isTTY }) };
}

async function deadLetters(app: TestApp, topic: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await app.app.inject({
      method: 'POST',
      url: `/v1/topics/${topic}/messages`,
      headers: { 'content-type': 'application/json' },
      payload: { data: i },
    });
    ids.push(res.json().id);
  }
  for (const m of await app.outbox.claim({ limit: 1000, leaseMs: 60_000, owner: 'test' })) {
    if (ids.includes(m.id))
      await app.outbox.markDead(m.id, { code: 'MQGATE_ERR_BACKEND_REJECTED', message: 'no' });
  }
  return ids;
}

async function listening(app: TestApp): Promise<string> {
  return app.app.listen({ host: '127.0.0.1', port: 0 });
}

describe('mqgate dlq replay --all', () => {
  it('pages through the bulk replay and prints replayed N/M lines when stderr is not a TTY', async () => {
    t = await testApp();
    await deadLetters(t, 'orders.a', 7);
    await deadLetters(t, 'orders.b', 2);
    const url = await listening(t);
    const { chunks, stream } = sink(false);
    const result = await replayAll({ url }, { topic: 'orders.a', pageSize: 3, progress: stream as never });
    expect(result).toEqual({ replayed: 7, total: 7, more: false });
    expect(chunks).toEqual(['replayed 0/7\n', 'replayed 3/7\n', 'replayed 6/7\n', 'replayed 7/7\n']);
    expect((await t.outbox.stats()).dead).toBe(2);
  });

  it('updates one line in place on a TTY, and replays every topic without --topic', async () => {
    t = await testApp();
    await deadLetters(t, 'orders.a', 2);
    await deadLetters(t, 'orders.b', 2);
    const url = await listening(t);
    const { chunks, stream } = sink(true);
    const result = await replayAll(
      { url },
      { pageSize: 3, toTopic: 'orders.retry', progress: stream as never },
    );
    expect(result).toEqual({ replayed: 4, total: 4, more: false });
    expect(chunks.join('')).toBe('\r\x1b[Kreplayed 0/4\r\x1b[Kreplayed 3/4\r\x1b[Kreplayed 4/4\n');
    expect((await t.outbox.stats()).dead).toBe(0);
    expect((await t.outbox.topicStats()).find((s) => s.topic === 'orders.retry')?.depth).toBe(4);
  });

  it('fails with the exit code docs/cli.md gives: 1 for a gateway error, 3 when unreachable', async () => {
    t = await testApp();
    await deadLetters(t, 'orders.a', 1);
    const url = await listening(t);
    const { stream } = sink(false);
    const failed = replayAll({ url }, { toTopic: 'nowhere', pageSize: 10, progress: stream as never });
    await expect(failed).rejects.toBeInstanceOf(CliError);
    await expect(failed).rejects.toMatchObject({ exitCode: EXIT.FAILED, message: /MQGATE_ERR_NO_ROUTE/ });
    await t.close();
    t = undefined;
    const gone = replayAll({ url, timeoutMs: 5_000 }, { pageSize: 10, progress: stream as never });
    await expect(gone).rejects.toMatchObject({ exitCode: EXIT.UNREACHABLE });
  });
});
