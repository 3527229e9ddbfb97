import type { TestProject } from 'vitest/node';
import { stackAcquire, stackRelease } from '../scripts/stack/index.js';
import { POSTGRES_URL_VAR, STACK_ENV_VARS, stackEnvFrom } from './helpers/stack-env.js';

const log = (line: string) => console.log(`[stack] ${line}`);

/**
 * Vitest global setup (root config, runs once per `vitest run`):
 * - broker URLs already in the environment (docker compose, CI services): use them (and MQGATE_POSTGRES_URL
 *   when set), start nothing;
 * - only the `unit` project selected (`--project unit`): start nothing;
 * - else start the single-node local stack (or join the one that runs), hand its URLs (brokers and
 *   PostgreSQL) to the tests
 *   (process.env, which the test workers inherit, and `provide('mqgateStack')` for `inject`), and stop it
 *   afterwards, unless MQGATE_KEEP_STACK=1, another test run still uses it, or it was started by hand
 *   before the run (then it is left as found). See scripts/stack/users.ts.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const given = stackEnvFrom(process.env);
  if (given) {
    project.provide('mqgateStack', given);
    return undefined;
  }
  const selected = project.vitest.projects.map((p) => p.name);
  if (selected.length > 0 && selected.every((name) => name === 'unit')) return undefined;

  const t0 = performance.now();
  const env = await stackAcquire(log);
  log(`ready in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
  for (const name of [...STACK_ENV_VARS, POSTGRES_URL_VAR]) process.env[name] = env[name];
  const urls = stackEnvFrom(process.env);
  if (urls) project.provide('mqgateStack', urls);

  return async () => {
    const t1 = performance.now();
    const outcome = await stackRelease({ keep: process.env.MQGATE_KEEP_STACK === '1', log });
    if (outcome === 'stopped') log(`down in ${((performance.now() - t1) / 1000).toFixed(1)}s`);
  };
}
