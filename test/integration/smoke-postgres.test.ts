import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackPostgresUrl } from '../helpers/stack-env.js';

describe('smoke: postgres', () => {
  let client: pg.Client;
  const table = `t_${randomUUID().replaceAll('-', '_')}`;

  beforeAll(async () => {
    client = new pg.Client({
      connectionString: stackPostgresUrl(),
      connectionTimeoutMillis: 5000,
      query_timeout: 5000,
    });
    await client.connect();
  });

  afterAll(async () => {
    await client?.query(`DROP TABLE IF EXISTS ${table}`);
    await client?.end();
  });

  it('waits for the disk on every commit (fsync, synchronous_commit, full_page_writes on)', async () => {
    const show = async (name: string) => (await client.query(`SHOW ${name}`)).rows[0]?.[name];
    expect(await show('fsync')).toBe('on');
    expect(await show('synchronous_commit')).toBe('on');
    expect(await show('full_page_writes')).toBe('on');
  });

  it('has the database mqgate', async () => {
    const { rows } = await client.query<{ db: string }>('SELECT current_database() AS db');
    expect(rows[0]?.db).toBe('mqgate');
  });

  it('writes rows in a transaction and reads them back on another connection', async () => {
    await client.query(`CREATE TABLE ${table} (id text PRIMARY KEY, body bytea NOT NULL)`);
    await client.query('BEGIN');
    await client.query(`INSERT INTO ${table} VALUES ($1, $2), ($3, $4)`, [
      'm-1',
      Buffer.from('hello'),
      'm-2',
      Buffer.from([0, 255]),
    ]);
    await client.query('COMMIT');

    const other = new pg.Client({ connectionString: stackPostgresUrl(), connectionTimeoutMillis: 5000 });
    await other.connect();
    try {
      const { rows } = await other.query<{ id: string; body: Buffer }>(
        `SELECT id, body FROM ${table} ORDER BY id`,
      );
      expect(rows).toEqual([
        { id: 'm-1', body: Buffer.from('hello') },
        { id: 'm-2', body: Buffer.from([0, 255]) },
      ]);
    } finally {
      await other.end();
    }
  });
});
