import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../../src/auth/authenticator.js';
import { findUiDir } from '../../src/http/routes/ui.js';
import { type TestApp, testApp } from '../helpers/test-app.js';

describe('GET /ui: the dashboard shell', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await testApp({
      auth: {
        mode: 'apiKey',
        keys: [{ name: 'ops', sha256: hashApiKey('k-ops') }],
        acl: [{ principal: 'ops', publish: [], subscribe: [], admin: ['*'] }],
      },
    });
  });
  afterAll(() => t.close());

  it('finds ui/ at the package root', () => {
    expect(findUiDir()).toMatch(/\/ui$/);
  });

  it('redirects /ui to ui/ (relative, so a path prefix survives)', async () => {
    const res = await t.app.inject({ url: '/ui' });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe('ui/');
  });

  it('serves the static files without a credential, with a strict CSP', async () => {
    const page = await t.app.inject({ url: '/ui/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.body).toContain('<script type="module" src="app.js"></script>');
    for (const file of ['app.js', 'api.js', 'style.css', 'widgets.css']) {
      expect((await t.app.inject({ url: `/ui/${file}` })).statusCode).toBe(200);
    }
    expect((await t.app.inject({ url: '/ui/app.js' })).headers['content-type']).toMatch(/^text\/javascript/);
  });

  it('serves nothing else: unknown names and traversal are 404', async () => {
    expect((await t.app.inject({ url: '/ui/nope.js' })).statusCode).toBe(404);
    expect((await t.app.inject({ url: '/ui/..%2Fpackage.json' })).statusCode).toBe(404);
  });

  it('keeps the data behind the admin right', async () => {
    expect((await t.app.inject({ url: '/v1/backends' })).statusCode).toBe(401);
    const ok = await t.app.inject({ url: '/v1/backends', headers: { authorization: 'Bearer k-ops' } });
    expect(ok.statusCode).toBe(200);
  });
});
