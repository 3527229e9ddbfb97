export type { CommitInfo } from './group-commit.js';
export {
  type ListDeadRequest,
  SqliteOutbox,
  type SqliteOutboxEvents,
  type SqliteOutboxOptions,
} from './sqlite-outbox.js';
export { SCHEMA_VERSION } from './sqlite-schema.js';
