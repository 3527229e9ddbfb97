import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Apache Kafka release the stack runs (org.apache.kafka:kafka_2.13 on Maven Central). */
export const KAFKA_VERSION = process.env.MQGATE_KAFKA_VERSION ?? '4.4.0';

/** Repository root: two levels above this file. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** All state, data and logs of the stack live here (git-ignored). */
export const stackDir = process.env.MQGATE_STACK_DIR ?? join(repoRoot, '.stack');

export const stateFile = join(stackDir, 'state.json');
export const envFile = join(stackDir, 'env');
export const lockFile = join(stackDir, 'lock');

/** Kafka jars are cached outside the repo so that a fresh clone (CI) reuses them. */
export function kafkaCacheDir(version = KAFKA_VERSION): string {
  const base =
    process.env.MQGATE_STACK_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'mqgate');
  return join(base, `kafka-${version}`);
}

/** Marker put into the environment of every process the stack spawns, so `down` can find strays. */
export const STACK_MARKER_VAR = 'MQGATE_STACK_OWNER';
