import type { TestProject } from 'vitest/node';
import { runningModes, stackDown, stackUp } from '../scripts/stack/index.js';
import { STACK_ENV_VARS, stackEnvFrom } from './helpers/stack-env.js';

/**
 * Vitest global setup (root config, runs once per `vitest run`):
 * - broker URLs already in the environment (docker compose, CI services): use them, start nothing;
 * - only the `unit` project selected: start nothing;
 * - else start the single-node local stack, hand its URLs to the tests (process.env, inherited by the test
 *   workers, and `provide('mqgateStack')` for `inject`), and stop it afterwards, unless MQGATE_KEEP_STACK=1
 *   or it was already running before the run (then it is left as found).
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const given = stackEnvFrom(process.env);
  if (given) {
    project.provide('mqgateStack', given);
    return undefined;
  }
  const selected = project.vitest.projects.map((p) => p.name);
  if (selected.length > 0 && selected.every((name) => name === 'unit')) return undefined;

  const wasRunning = runningModes().single;
  const t0 = performance.now();
  const env = await stackUp({ log: (line) => console.log(`[stack] ${line}`) });
  if (!wasRunning) console.log(`[stack] up in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
  for (const name of STACK_ENV_VARS) process.env[name] = env[name];
  const urls = stackEnvFrom(process.env);
  if (urls) project.provide('mqgateStack', urls);

  return async () => {
    if (wasRunning || process.env.MQGATE_KEEP_STACK === '1') return;
    await stackDown({ mode: 'single', log: (line) => console.log(`[stack] ${line}`) });
  };
}
