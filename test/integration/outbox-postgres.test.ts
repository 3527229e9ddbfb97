import { PostgresOutbox } from '../../src/outbox/index.js';
import { ContractClock, type ContractOutbox, describeOutboxContract } from '../helpers/outbox-contract.js';
import { createTestDatabase } from '../helpers/postgres-db.js';

describeOutboxContract(
  'postgres',
  async () => {
    const db = await createTestDatabase();
    const clock = new ContractClock();
    const opened: ContractOutbox[] = [];
    return {
      clock,
      open: async (options = {}) => {
        const outbox = new PostgresOutbox({
          url: db.url,
          maxBytes: options.maxBytes ?? 1 << 30,
          retentionMs: options.retentionMs ?? 60_000,
          now: clock.now,
        });
        opened.push(outbox);
        await outbox.start();
        return outbox;
      },
      cleanup: async () => {
        for (const o of opened) await o.close();
        await db.drop();
      },
    };
  },
  { replicas: true },
);
