import { inject } from 'vitest';

/** Broker URLs of the stack the tests run against. */
export interface StackEnv {
  kafkaBrokers: string[];
  rabbitmqUrl: string;
  redisUrl: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** Set by test/global-setup.ts; undefined when the run started no stack (unit tests only). */
    mqgateStack?: StackEnv;
  }
}

/** The variables test/global-setup.ts reads (and docker compose users set themselves). */
export const STACK_ENV_VARS = ['MQGATE_KAFKA_BROKERS', 'MQGATE_RABBITMQ_URL', 'MQGATE_REDIS_URL'] as const;

/** Parses the three variables; undefined unless all are set. */
export function stackEnvFrom(env: NodeJS.ProcessEnv): StackEnv | undefined {
  const [kafka, rabbitmqUrl, redisUrl] = STACK_ENV_VARS.map((name) => env[name]?.trim());
  if (!kafka || !rabbitmqUrl || !redisUrl) return undefined;
  const kafkaBrokers = kafka
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  return { kafkaBrokers, rabbitmqUrl, redisUrl };
}

/**
 * The broker URLs for a test: from the environment, else from what global setup provided. Throws with a
 * message that says how to get a stack when there is none.
 */
export function stackEnv(): StackEnv {
  const fromEnv = stackEnvFrom(process.env);
  if (fromEnv) return fromEnv;
  const provided = inject('mqgateStack');
  if (provided) return provided;
  throw new Error(
    `no broker URLs: set ${STACK_ENV_VARS.join(', ')} or run the test through vitest's integration project ` +
      '(test/global-setup.ts starts the local stack, see docs/stack.md)',
  );
}
