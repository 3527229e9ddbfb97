import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { StackError } from './errors.js';
import { lockFile, stackDir } from './paths.js';
import { isAlive, sleep } from './proc.js';

/**
 * One stack command at a time per checkout (two test runs starting the stack together would race for the
 * same ports). The lock file holds the owner's pid; a lock whose owner died is taken over.
 */
let depth = 0;

export async function withStackLock<T>(fn: () => Promise<T>, timeoutMs = 300_000): Promise<T> {
  if (depth > 0) return fn();
  mkdirSync(stackDir, { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(lockFile, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(readFileSync(lockFile, 'utf8').trim() || 0);
      if (!owner || !isAlive(owner)) {
        rmSync(lockFile, { force: true });
        continue;
      }
      if (Date.now() >= deadline) {
        throw new StackError(`another stack command (pid ${owner}) holds ${lockFile} for too long`);
      }
      await sleep(500);
    }
  }
  depth++;
  try {
    return await fn();
  } finally {
    depth--;
    rmSync(lockFile, { force: true });
  }
}
