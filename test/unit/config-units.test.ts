import { describe, expect, it } from 'vitest';
import { parseDuration, parseSize } from '../../src/config/index.js';

describe('parseDuration', () => {
  it.each<[unknown, number]>([
    ['500ms', 500],
    ['2s', 2000],
    ['1m', 60_000],
    ['24h', 86_400_000],
    ['7d', 604_800_000],
    ['1.5s', 1500],
    ['0.5h', 1_800_000],
    ['250', 250],
    [250, 250],
    [0, 0],
    ['0s', 0],
    ['2S', 2000],
    [' 2s ', 2000],
    ['10 s', 10_000],
  ])('%j is %d ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each<unknown>([
    '',
    's',
    '2 sec',
    '2sec',
    '-1s',
    '1.0001ms',
    '1e3',
    '2s5',
    1.5,
    -1,
    Number.NaN,
    true,
    null,
    undefined,
    '0x10',
  ])('%j is invalid', (input) => {
    expect(parseDuration(input)).toBeUndefined();
  });
});

describe('parseSize', () => {
  it.each<[unknown, number]>([
    ['1mb', 1024 ** 2],
    ['1gb', 1024 ** 3],
    ['512kb', 512 * 1024],
    ['4KB', 4096],
    ['1.5kb', 1536],
    ['2tb', 2 * 1024 ** 4],
    ['100b', 100],
    ['100', 100],
    [100, 100],
    [0, 0],
  ])('%j is %d bytes', (input, bytes) => {
    expect(parseSize(input)).toBe(bytes);
  });

  it.each<unknown>([
    '1gbb',
    'mb',
    '1 megabyte',
    '1.1b',
    '-1kb',
    '1k',
    '1m',
    0.5,
    -5,
    false,
    null,
    '9999999tb',
  ])('%j is invalid', (input) => {
    expect(parseSize(input)).toBeUndefined();
  });
});
