import { closeSync, fdatasync, fdatasyncSync, fstatSync, fsyncSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { MqgateError } from '../errors.js';

/**
 * A file descriptor of the database's `-wal` file, for `fdatasync` on libuv's thread pool.
 *
 * fsync acts on the inode, not on the descriptor: every byte SQLite wrote to the WAL with write(2) before
 * `sync()` started is on disk once it resolves. fdatasync skips timestamps but flushes a grown file size,
 * which reading the new frames back needs (fdatasync(2)). This holds only while the path names the inode SQLite
 * writes to. SQLite overwrites its WAL in place after a checkpoint (a "restart": new header and salts, same
 * file) and truncates it only with `journal_size_limit`; it deletes the file only when the last connection
 * closes, which cannot happen while the outbox's own connection, the one that writes, is open. SQLite puts
 * no POSIX locks on the `-wal` file (its locks are on the database file and `-shm`), so this descriptor's
 * close() cannot drop one of them.
 */
export class WalFile {
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly fd: number,
  ) {}

  /**
   * Opens `<dbPath>-wal`, which SQLite creates once the connection has read in WAL mode. Makes what is in
   * it durable now, and the directory entries of the database and its WAL, synchronously: this runs once,
   * at start.
   */
  static open(dbPath: string): WalFile {
    const path = `${dbPath}-wal`;
    let fd: number;
    try {
      // r+ opens without creating or truncating; a missing WAL means SQLite is not in WAL mode yet.
      fd = openSync(path, 'r+');
    } catch (cause) {
      throw new MqgateError('MQGATE_ERR_OUTBOX_UNAVAILABLE', `cannot open the outbox WAL ${path}`, { cause });
    }
    try {
      if (fstatSync(fd).ino !== statSync(path).ino) throw new Error(`${path} changed while it was opened`);
      fdatasyncSync(fd);
      syncDirectory(dirname(dbPath));
    } catch (cause) {
      closeSync(fd);
      throw new MqgateError('MQGATE_ERR_OUTBOX_UNAVAILABLE', `cannot sync the outbox WAL ${path}`, { cause });
    }
    return new WalFile(path, fd);
  }

  /** fdatasync on the thread pool; resolves once everything written to the WAL before the call is on disk. */
  sync(): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`${this.path} is closed`));
    return new Promise((resolve, reject) => {
      fdatasync(this.fd, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Closes the descriptor. Idempotent. Call only once no sync() is running. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}

/** fsync of a directory: makes the names of the files created in it durable. */
function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
