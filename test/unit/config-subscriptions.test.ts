import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/index.js';
import { subscriptionFrom } from '../../src/config/subscriptions.js';
import { MqgateError } from '../../src/errors.js';

const base = {
  backends: { redis: { type: 'redis', url: 'redis://127.0.0.1:6379' } },
  routes: [{ match: '*', backends: ['redis'] }],
};

function configError(subscriptions: unknown[]): ConfigError {
  try {
    parseConfig({ ...base, subscriptions });
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('subscriptions in the config file', () => {
  it('stops the start like any config error: one line per problem naming the key, all at once', () => {
    const err = configError([
      { name: 'a', topics: ['t'], endpoint: 'ftp://hooks.example/x' },
      { name: 'b', topics: ['t', 'bad topic!'], endpoint: 'http://user:pw@hooks.example/' },
      {
        name: 'a',
        topics: ['t'],
        endpoint: 'https://hooks.example/#f',
        retry: { backoffInitial: '10s', backoffMax: '1s' },
      },
    ]);
    expect(err.code).toBe('MQGATE_ERR_CONFIG');
    expect(err.problems).toEqual([
      'subscriptions[0].endpoint: must be an http(s) URL, got "ftp://hooks.example/x"',
      'subscriptions[1].topics[1]: invalid topic name "bad topic!"',
      'subscriptions[1].endpoint: no credentials in the URL',
      'subscriptions[2].endpoint: no #fragment',
      'subscriptions[2].retry.backoffInitial: must not exceed retry.backoffMax',
      'subscriptions[2].name: "a" is taken by subscriptions[0]',
    ]);
    expect(err.message).not.toMatch(/INVALID_SUBSCRIPTION/);
  });

  it('an endpoint that looks like a URL but does not parse is reported at its key', () => {
    expect(configError([{ name: 'a', topics: ['t'], endpoint: 'http://[oops' }]).problems).toEqual([
      'subscriptions[0].endpoint: must be an http(s) URL',
    ]);
  });

  it('valid ones load in runtime form', () => {
    const config = parseConfig({
      ...base,
      subscriptions: [{ name: 'a', topics: ['t'], endpoint: 'https://hooks.example/x', timeout: '2s' }],
    });
    expect(config.subscriptions[0]).toMatchObject({ name: 'a', group: 'a', timeoutMs: 2000 });
  });

  it('subscriptionFrom (the HTTP path) still throws MQGATE_ERR_INVALID_SUBSCRIPTION naming the subscription', () => {
    const bad = () =>
      subscriptionFrom({
        name: 's1',
        topics: ['t'],
        endpoint: 'http://u:p@hooks.example/',
      } as Parameters<typeof subscriptionFrom>[0]);
    expect(bad).toThrowError(MqgateError);
    expect(bad).toThrowError(/^subscription s1: endpoint: no credentials in the URL$/);
    try {
      bad();
    } catch (err) {
      expect((err as MqgateError).code).toBe('MQGATE_ERR_INVALID_SUBSCRIPTION');
    }
  });
});
