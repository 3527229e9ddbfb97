export type { CommitInfo } from './group-commit.js';
export { PostgresOutbox, type PostgresOutboxOptions } from './postgres-outbox.js';
export { PG_SCHEMA_VERSION } from './postgres-schema.js';
export {
  type ListDeadRequest,
  SqliteOutbox,
  type SqliteOutboxEvents,
  type SqliteOutboxOptions,
} from './sqlite-outbox.js';
export { SCHEMA_VERSION } from './sqlite-schema.js';
