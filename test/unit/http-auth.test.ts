import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../../src/auth/authenticator.js';
import type { AclRule } from '../../src/config/types.js';
import { type TestApp, testApp } from '../helpers/test-app.js';

const ACL: AclRule[] = [
  { principal: 'orders-svc', publish: ['orders.*'], subscribe: [], admin: [] },
  { principal: 'ops', publish: [], subscribe: [], admin: ['*'] },
  { principal: 'orders-admin', publish: [], subscribe: [], admin: ['orders.*'] },
];
const KEYS = {
  'orders-svc': 'k-orders-0123456789',
  ops: 'k-ops-0123456789',
  'orders-admin': 'k-oa-0123456789',
};

const publish = (t: TestApp, topic: string, headers: Record<string, string> = {}) =>
  t.app.inject({
    method: 'POST',
    url: `/v1/topics/${topic}/messages`,
    headers: { 'content-type': 'application/json', ...headers },
    payload: { data: { n: 1 } },
  });

describe('auth: API keys', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await testApp({
      auth: {
        mode: 'apiKey',
        keys: Object.entries(KEYS).map(([name, key]) => ({ name, sha256: hashApiKey(key) })),
        acl: ACL,
      },
    });
  });
  afterAll(() => t.close());

  it('401 problem+json without a key, with a wrong key', async () => {
    const variants: Record<string, string>[] = [
      {},
      { authorization: 'Bearer nope' },
      { 'x-api-key': 'nope' },
    ];
    for (const headers of variants) {
      const res = await publish(t, 'orders.created', headers);
      expect(res.statusCode).toBe(401);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.headers['www-authenticate']).toContain('Bearer');
      expect(res.json().code).toBe('MQGATE_ERR_UNAUTHENTICATED');
    }
  });

  it('202 inside the ACL, by Authorization: Bearer or X-API-Key', async () => {
    expect(
      (await publish(t, 'orders.created', { authorization: `Bearer ${KEYS['orders-svc']}` })).statusCode,
    ).toBe(202);
    expect((await publish(t, 'orders.paid', { 'x-api-key': KEYS['orders-svc'] })).statusCode).toBe(202);
  });

  it('403 for a topic outside the ACL, and for a principal with no publish grant', async () => {
    const t1 = await publish(t, 'payments.x', { 'x-api-key': KEYS['orders-svc'] });
    expect(t1.statusCode).toBe(403);
    expect(t1.json()).toMatchObject({ code: 'MQGATE_ERR_FORBIDDEN', status: 403 });
    expect((await publish(t, 'orders.created', { 'x-api-key': KEYS.ops })).statusCode).toBe(403);
  });

  it('admin API needs the admin right; a topic-scoped admin sees only its topics', async () => {
    const as = (key: string, url: string) =>
      t.app.inject({ method: 'GET', url, headers: { 'x-api-key': key } });
    expect((await as(KEYS['orders-svc'], '/v1/backends')).statusCode).toBe(403);
    expect((await as(KEYS['orders-svc'], '/v1/dlq')).statusCode).toBe(403);
    expect((await as(KEYS.ops, '/v1/dlq')).statusCode).toBe(200);
    expect((await as(KEYS.ops, '/v1/backends')).statusCode).toBe(200);
    expect((await as(KEYS['orders-admin'], '/v1/dlq')).statusCode).toBe(403);
    expect((await as(KEYS['orders-admin'], '/v1/dlq?topic=orders.created')).statusCode).toBe(200);
    expect((await as(KEYS['orders-admin'], '/v1/dlq?topic=payments.x')).statusCode).toBe(403);
  });

  it('message status only for who may publish to (or administer) its topic', async () => {
    const res = await publish(t, 'orders.created', { 'x-api-key': KEYS['orders-svc'] });
    const url = `/v1/messages/${res.json().id}`;
    const get = (key: string) => t.app.inject({ method: 'GET', url, headers: { 'x-api-key': key } });
    expect((await get(KEYS['orders-svc'])).statusCode).toBe(200);
    expect((await get(KEYS['orders-admin'])).statusCode).toBe(200);
    const none = await t.app.inject({ method: 'GET', url });
    expect(none.statusCode).toBe(401);
  });

  it('health, readiness and metrics stay open', async () => {
    for (const url of ['/healthz', '/livez', '/readyz', '/metrics']) {
      expect((await t.app.inject({ method: 'GET', url })).statusCode, url).toBe(200);
    }
  });
});

describe('auth: JWT', () => {
  const secret = 'a-long-hs256-secret-for-tests-only-0123456789';
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const base = {
    issuer: 'https://issuer.test/',
    audience: 'mqgate',
    principalClaim: 'sub',
    clockToleranceMs: 0,
    acl: ACL,
  };
  let hs: TestApp;
  let rs: TestApp;
  beforeAll(async () => {
    hs = await testApp({ auth: { mode: 'jwt', secret, ...base } });
    rs = await testApp({
      auth: { mode: 'jwt', publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(), ...base },
    });
  });
  afterAll(async () => {
    await hs.close();
    await rs.close();
  });

  const token = (claims: { sub?: string; iss?: string; aud?: string; exp?: number }, alg = 'HS256') => {
    const jwt = new SignJWT(claims.sub ? { sub: claims.sub } : {})
      .setProtectedHeader({ alg })
      .setIssuer(claims.iss ?? base.issuer)
      .setAudience(claims.aud ?? base.audience)
      .setIssuedAt()
      .setExpirationTime(claims.exp ?? Math.floor(Date.now() / 1000) + 60);
    return alg === 'HS256' ? jwt.sign(new TextEncoder().encode(secret)) : jwt.sign(privateKey);
  };
  const bearer = async (jwt: Promise<string>) => ({ authorization: `Bearer ${await jwt}` });

  it('HS256: valid token inside the ACL is accepted, outside is 403', async () => {
    expect((await publish(hs, 'orders.x', await bearer(token({ sub: 'orders-svc' })))).statusCode).toBe(202);
    expect((await publish(hs, 'payments.x', await bearer(token({ sub: 'orders-svc' })))).statusCode).toBe(
      403,
    );
  });

  it('401 for an expired token, a wrong issuer or audience, and a token signed otherwise', async () => {
    const cases = [
      token({ sub: 'orders-svc', exp: Math.floor(Date.now() / 1000) - 60 }),
      token({ sub: 'orders-svc', iss: 'https://evil.test/' }),
      token({ sub: 'orders-svc', aud: 'other' }),
      token({ sub: 'orders-svc' }, 'RS256'),
    ];
    const details: string[] = [];
    for (const jwt of cases) {
      const res = await publish(hs, 'orders.x', await bearer(jwt));
      expect(res.statusCode).toBe(401);
      expect(res.json().code).toBe('MQGATE_ERR_UNAUTHENTICATED');
      details.push(res.json().detail);
    }
    expect(details[0]).toBe('token expired');
  });

  it('RS256: verified with the public key; an HS256 token is refused', async () => {
    expect(
      (await publish(rs, 'orders.x', await bearer(token({ sub: 'orders-svc' }, 'RS256')))).statusCode,
    ).toBe(202);
    expect((await publish(rs, 'orders.x', await bearer(token({ sub: 'orders-svc' })))).statusCode).toBe(401);
  });
});
