/**
 * The local stack of real brokers, for tests and scripts:
 *
 * ```ts
 * import { stackUp, serviceKill, serviceStart, stackDown } from '../../scripts/stack/index.js';
 * const env = await stackUp();          // { MQGATE_KAFKA_BROKERS, ..., MQGATE_POSTGRES_URL }
 * await serviceKill('kafka');           // SIGKILL, like a crash
 * await serviceStart('kafka');          // same data, resolves once it answers again
 * ```
 *
 * Every call is bounded and fails with a StackError whose message names the log to read. Calls from
 * several processes are serialized by a lock file under .stack/.
 */

import { signalService } from './lifecycle.js';
import { withStackLock } from './lock.js';
import { serviceNamed } from './registry.js';

export { haEnv, singleEnv } from './env.js';
export { StackError } from './errors.js';
export { fetchKafka } from './kafka-fetch.js';
export { envFile, KAFKA_VERSION, stackDir } from './paths.js';
export { EPMD_PORT, HA, HOST, SINGLE } from './ports.js';
export { postgresUrl } from './postgres.js';
export type { Mode, ServiceState, ServiceStatus } from './service.js';
export { runningModes, serviceKill, serviceStart, serviceStop, stackDown, stackUp } from './stack.js';
export { formatStatus, stackStatus } from './status.js';
export { stackAcquire, stackRelease } from './users.js';

/** SIGSTOP to one service's process group: it hangs, connections stay open. */
export function servicePause(name: string): Promise<void> {
  return withStackLock(async () => signalService(serviceNamed(name), 'SIGSTOP'));
}

/** SIGCONT to a paused service. */
export function serviceResume(name: string): Promise<void> {
  return withStackLock(async () => signalService(serviceNamed(name), 'SIGCONT'));
}
