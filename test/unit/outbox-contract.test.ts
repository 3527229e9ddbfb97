import { SqliteOutbox } from '../../src/outbox/index.js';
import { ContractClock, type ContractOutbox, describeOutboxContract } from '../helpers/outbox-contract.js';
import { tempDir } from './fixtures/outbox-helpers.js';

describeOutboxContract(
  'sqlite',
  async () => {
    const tmp = tempDir();
    const clock = new ContractClock();
    const opened: ContractOutbox[] = [];
    return {
      clock,
      open: async (options = {}) => {
        const outbox = new SqliteOutbox({
          path: tmp.path,
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
        tmp.cleanup();
      },
    };
  },
  { replicas: false },
);
