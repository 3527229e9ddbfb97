import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceKill, serviceStart } from '../../scripts/stack/index.js';
import { hashApiKey } from '../../src/auth/authenticator.js';
import { type GatewayProcess, startGatewayProcess } from '../helpers/gateway-process.js';
import { stackEnv } from '../helpers/stack-env.js';
import { type Browser, launchBrowser } from './browser.js';

/**
 * The dashboard at /ui in headless Chromium, against a gateway child process on the real stack, with API-key
 * auth on: the page's own fetches must carry the key typed into it. Kills only `kafka`, restarted in a finally.
 */

const KEY = `ui-test-${randomUUID()}`;
const RUN = randomUUID().slice(0, 8);
const ORDERS = `ui-orders-${RUN}`;
const JOBS = `ui-jobs-${RUN}`;
const UI_WAIT = 30_000;

function config() {
  const env = stackEnv();
  return {
    outbox: { driver: 'sqlite', path: './outbox.db', maxBytes: '64mb', retention: '1h' },
    backends: {
      kafka: { type: 'kafka', brokers: env.kafkaBrokers, partitions: 3 },
      rabbit: { type: 'rabbitmq', urls: [env.rabbitmqUrl], partitions: 3, exchange: `mqgate-ui-${RUN}` },
      redis: { type: 'redis', url: env.redisUrl, partitions: 3 },
      jobs: { type: 'bullmq', url: env.redisUrl },
    },
    routes: [
      { match: `${JOBS}*`, backends: ['jobs'], mode: 'failover' },
      { match: `${ORDERS}*`, backends: ['kafka', 'rabbit', 'redis'], mode: 'failover' },
    ],
    failover: { failureThreshold: 2, probeInterval: '500ms', openFor: '2s', failbackAfter: '10s' },
    auth: {
      mode: 'apiKey',
      keys: [{ name: 'ops', sha256: hashApiKey(KEY) }],
      acl: [{ principal: 'ops', publish: ['*'], subscribe: [], admin: ['*'] }],
    },
    log: { level: 'warn' },
  };
}

describe('dashboard at /ui in a real browser', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mqgate-ui-'));
  let gw: GatewayProcess;
  let browser: Browser;
  let page: Page;
  let ticker: NodeJS.Timeout | undefined;
  let ticks = 0;

  async function publish(topic: string, body: object, query = ''): Promise<Response> {
    return fetch(`${gw.url}/v1/topics/${topic}/messages${query}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify(body),
    });
  }
  async function api<T>(path: string): Promise<T> {
    return (await (
      await fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${KEY}` } })
    ).json()) as T;
  }
  /** Waits until `selector` matches in the page (Playwright polls it); `what` names it in the failure. */
  async function shows(selector: string, what: string, timeout = UI_WAIT): Promise<void> {
    try {
      await page.locator(selector).first().waitFor({ state: 'visible', timeout });
    } catch (err) {
      const shot = await browser.screenshot(`ui-failed-${Date.now()}.png`).catch(() => 'none');
      throw new Error(`the page did not show ${what} within ${timeout} ms (screenshot: ${shot})`, {
        cause: err,
      });
    }
  }

  beforeAll(async () => {
    gw = await startGatewayProcess(dir, config(), 60_000);
    browser = await launchBrowser();
    page = browser.page;
    // Light steady traffic: the charts have something to draw and the relay notices a dead broker at once.
    ticker = setInterval(() => {
      ticks++;
      void publish(ORDERS, { key: `k-${ticks % 5}`, data: { tick: ticks } }).catch(() => undefined);
    }, 250);
  });
  afterAll(async () => {
    clearInterval(ticker);
    await browser?.close();
    const code = await gw?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
    if (code !== 0 && code !== null) console.log(gw.output());
  });

  it('asks for the key, then shows every backend healthy and the route on kafka', async () => {
    const res = await page.goto(`${gw.url}/ui`);
    expect(page.url()).toBe(`${gw.url}/ui/`);
    expect(res?.headers()['content-security-policy']).toContain("default-src 'none'");
    await shows('#conn[data-state="auth"]', 'the credential prompt');

    await page.getByLabel('API key or token').fill(KEY);
    await page.getByRole('button', { name: 'Use', exact: true }).press('Enter');
    await shows('#conn[data-state="live"]', 'live data');
    expect(await page.evaluate("sessionStorage.getItem('mqgate.token')")).toBe(KEY);

    for (const name of ['kafka', 'rabbit', 'redis', 'jobs']) {
      await shows(`#backends tr[data-backend="${name}"][data-state="closed"]`, `${name} closed`, 60_000);
    }
    await shows(`#routes tr[data-match="${ORDERS}*"][data-active="kafka"]`, 'the route on kafka', 60_000);
    await shows('#timeline li[data-reason="initial"][data-to="kafka"]', 'the initial placement');
    // Two samples at least: the rate charts draw a line once traffic has been counted twice.
    const points = async () => (await page.locator('#chart-accepted polyline').getAttribute('points')) ?? '';
    await expect
      .poll(async () => (await points()).split(' ').length, { timeout: UI_WAIT })
      .toBeGreaterThan(2);
    await browser.screenshot('ui-healthy.png');
  });

  it('looks a message up by id: delivered, on which backend and where', async () => {
    const id = `ui-lookup-${RUN}`;
    const res = await publish(
      ORDERS,
      { id, key: 'lookup', data: { hello: 'dashboard' } },
      '?wait=delivered&timeout=20s',
    );
    expect(res.status).toBe(201);
    await page.getByLabel('Message id').fill(id);
    await page.getByLabel('Message id').press('Enter');
    await shows('#lookup-out[data-state="delivered"]', 'the delivered message');
    const text = await page.locator('#lookup-out').textContent();
    expect(text).toContain(id);
    expect(text).toMatch(/Backend\s*kafka/);
    expect(text).toMatch(/partition \d+, offset \d+/);

    await page.getByLabel('Message id').fill('no-such-id');
    await page.getByRole('button', { name: 'Look up' }).click();
    await shows('#lookup-out[data-state="error"]', 'the not-found answer');
    expect(await page.locator('#lookup-out').textContent()).toContain('No message with id');
  });

  it('shows a dead letter, finds it by search, replays it and deletes it', async () => {
    const id = `ui-dead-${RUN}`;
    // The BullMQ adapter refuses a malformed delay for good: the message is dead-lettered with its error.
    expect((await publish(JOBS, { id, headers: { 'delay-ms': 'soon' }, data: { job: 1 } })).status).toBe(202);
    const row = `#dlq tr[data-id="${id}"]`;
    await shows(row, 'the dead letter');
    expect(await page.locator(row).textContent()).toContain('MQGATE_ERR_BACKEND_REJECTED');

    await page.getByLabel('Search by topic or id').fill('nothing-matches-this');
    await shows('#dlq-empty', 'the empty search');
    expect(await page.locator(row).count()).toBe(0);
    await page.getByLabel('Search by topic or id').fill(JOBS);
    await shows(row, 'the dead letter found by topic');

    const deadCount = async () => {
      const text = await (await fetch(`${gw.url}/metrics`)).text();
      const line = text
        .split('\n')
        .find((l) => l.startsWith('mqgate_messages_dead_lettered_total{') && l.includes(`topic="${JOBS}"`));
      return line ? Number(line.split(' ').pop()) : 0;
    };
    expect(await deadCount()).toBe(1);
    const replayed = page.waitForResponse((r) => r.url().endsWith(`/v1/dlq/${id}/replay`));
    await page.getByRole('button', { name: `Replay message ${id}` }).click();
    expect((await replayed).status()).toBe(202);
    await shows('#dlq-result.ok', 'the replay confirmation');
    expect(await page.locator('#dlq-result').textContent()).toContain(`Replayed ${id}`);
    // The replay went through the relay again, which refused it again: dead a second time, back in the list.
    await expect.poll(deadCount, { timeout: UI_WAIT }).toBe(2);
    await shows(row, 'the dead letter again after its replay');
    await browser.screenshot('ui-dead-letters.png');

    page.once('dialog', (d) => void d.accept());
    const deleted = page.waitForResponse(
      (r) => r.url().endsWith(`/v1/dlq/${id}`) && r.request().method() === 'DELETE',
    );
    await page.getByRole('button', { name: `Delete message ${id}` }).click();
    expect((await deleted).status()).toBe(204);
    await page.locator(row).waitFor({ state: 'detached', timeout: UI_WAIT });
    expect((await api<{ messages: unknown[] }>(`/v1/dlq?topic=${JOBS}`)).messages).toEqual([]);
  });

  it('shows kafka open and the route on rabbit within seconds of a kill -9 of kafka', async () => {
    try {
      await serviceKill('kafka');
      const killedAt = Date.now();
      await shows('#backends tr[data-backend="kafka"][data-state="open"]', 'kafka open');
      await shows(`#routes tr[data-match="${ORDERS}*"][data-active="rabbit"]`, 'the route on rabbit');
      await shows('#timeline li[data-reason="failover"][data-to="rabbit"]', 'the failover in the timeline');
      console.log(`ui: kafka open and route on rabbit shown ${Date.now() - killedAt} ms after the kill`);
      expect(await page.locator('#backends tr[data-backend="kafka"] td.error').textContent()).toMatch(
        /MQGATE_ERR_/,
      );
      await browser.screenshot('ui-failover.png');
      // The README's picture (docs/img/ui.png is a copy): backends, routes and outbox, right after a failover.
      const top = await page.locator('section[aria-labelledby="h-outbox"]').boundingBox();
      await browser.screenshot('ui-readme.png', Math.ceil((top?.y ?? 640) + (top?.height ?? 0) + 12));
    } finally {
      await serviceStart('kafka');
    }
  });
});
