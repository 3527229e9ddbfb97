import { describe, expect, it } from 'vitest';
import type { BackendState } from '../../src/failover/route-policy.js';
import { RoutePolicy, type RouteSwitch } from '../../src/failover/route-policy.js';

type Health = Record<string, BackendState>;
const up = (since = 0): BackendState => ({ usable: true, snapshot: { state: 'closed', since } });
const down = (since = 0): BackendState => ({ usable: false, snapshot: { state: 'open', since } });
const trial = (since = 0): BackendState => ({ usable: true, snapshot: { state: 'half-open', since } });

const route = {
  index: 0,
  match: 'orders.*',
  backends: ['kafka', 'rabbit', 'redis'],
  mode: 'failover' as const,
};
const msg = { id: 'm1', key: 'k1' };

function setup(failbackAfterMs = 10_000) {
  const switches: RouteSwitch[] = [];
  const policy = new RoutePolicy(failbackAfterMs, (s) => switches.push(s));
  let health: Health = { kafka: up(), rabbit: up(), redis: up() };
  const pick = (now: number) => policy.pick(route, (b) => health[b]!, msg, now);
  return { switches, pick, set: (h: Health) => (health = h) };
}

describe('RoutePolicy, failover mode', () => {
  it('starts on the first usable backend in order', () => {
    const t = setup();
    t.set({ kafka: down(), rabbit: up(), redis: up() });
    expect(t.pick(0)).toBe('rabbit');
    expect(t.switches).toEqual([
      expect.objectContaining({ from: undefined, to: 'rabbit', reason: 'initial' }),
    ]);
  });

  it('fails over at once when the active backend becomes unusable, and skips unusable ones', () => {
    const t = setup();
    expect(t.pick(0)).toBe('kafka');
    t.set({ kafka: down(100), rabbit: down(100), redis: up() });
    expect(t.pick(100)).toBe('redis');
    expect(t.switches.at(-1)).toMatchObject({ from: 'kafka', to: 'redis', reason: 'failover', at: 100 });
  });

  it('fails back only after the preferred backend has been healthy for failbackAfter', () => {
    const t = setup(10_000);
    t.pick(0);
    t.set({ kafka: down(100), rabbit: up(), redis: up() });
    expect(t.pick(100)).toBe('rabbit');
    // Kafka recovers at t=5s: it is usable, but the route stays put until it has been closed for 10 s.
    t.set({ kafka: up(5_000), rabbit: up(), redis: up() });
    expect(t.pick(5_000)).toBe('rabbit');
    expect(t.pick(14_999)).toBe('rabbit');
    expect(t.pick(15_000)).toBe('kafka');
    expect(t.switches.at(-1)).toMatchObject({ from: 'rabbit', to: 'kafka', reason: 'failback' });
  });

  it('does not ping-pong: a preferred backend that fails again during failbackAfter gets no traffic back', () => {
    const t = setup(10_000);
    t.pick(0);
    t.set({ kafka: down(100), rabbit: up(), redis: up() });
    expect(t.pick(100)).toBe('rabbit');
    // Kafka flaps: healthy at 5 s, down at 8 s, healthy again at 9 s.
    t.set({ kafka: up(5_000), rabbit: up(), redis: up() });
    expect(t.pick(8_000)).toBe('rabbit');
    t.set({ kafka: down(8_000), rabbit: up(), redis: up() });
    expect(t.pick(8_500)).toBe('rabbit');
    t.set({ kafka: up(9_000), rabbit: up(), redis: up() });
    // 15 s would have been 10 s after the first recovery; the clock restarted at 9 s.
    expect(t.pick(15_000)).toBe('rabbit');
    expect(t.pick(18_999)).toBe('rabbit');
    expect(t.pick(19_000)).toBe('kafka');
    expect(t.switches.map((s) => s.reason)).toEqual(['initial', 'failover', 'failback']);
  });

  it('does not fail back to a half-open backend (on trial, not yet healthy)', () => {
    const t = setup(1_000);
    t.pick(0);
    t.set({ kafka: down(0), rabbit: up(), redis: up() });
    t.pick(1);
    t.set({ kafka: trial(0), rabbit: up(), redis: up() });
    expect(t.pick(60_000)).toBe('rabbit');
  });

  it('has no backend when none is usable, and picks again when one returns', () => {
    const t = setup();
    t.set({ kafka: down(), rabbit: down(), redis: down() });
    expect(t.pick(0)).toBeUndefined();
    t.set({ kafka: down(), rabbit: down(), redis: up() });
    expect(t.pick(1)).toBe('redis');
  });
});

describe('RoutePolicy, balance mode', () => {
  const balance = { ...route, mode: 'balance' as const };
  const policy = new RoutePolicy(0);
  const all: Health = { kafka: up(), rabbit: up(), redis: up() };
  it('keeps a key on one backend and spreads keys over all usable ones', () => {
    const same = new Set(
      Array.from({ length: 20 }, (_, i) => policy.pick(balance, (b) => all[b]!, { id: `${i}`, key: 'k' }, 0)),
    );
    expect(same.size).toBe(1);
    const spread = new Set(
      Array.from({ length: 200 }, (_, i) =>
        policy.pick(balance, (b) => all[b]!, { id: `${i}`, key: `k${i}` }, 0),
      ),
    );
    expect(spread).toEqual(new Set(['kafka', 'rabbit', 'redis']));
  });
  it('leaves unusable backends out', () => {
    const h: Health = { kafka: down(), rabbit: up(), redis: down() };
    for (let i = 0; i < 20; i++)
      expect(policy.pick(balance, (b) => h[b]!, { id: `${i}`, key: `k${i}` }, 0)).toBe('rabbit');
  });
});
