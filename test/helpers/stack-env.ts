import { inject } from 'vitest';

/** Broker URLs of the stack the tests run against. */
export interface StackEnv {
  kafkaBrokers: string[];
  rabbitmqUrl: string;
  redisUrl: string;
  /** PostgreSQL for the postgres outbox driver; absent when the broker URLs were given without one. */
  postgresUrl?: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** Set by test/global-setup.ts; undefined when the run started no stack (unit tests only). */
    mqgateStack?: StackEnv;
  }
}

/** The variables test/global-setup.ts reads (and docker compose users set themselves). */
export const STACK_ENV_VARS = ['MQGATE_KAFKA_BROKERS', 'MQGATE_RABBITMQ_URL', 'MQGATE_REDIS_URL'] as const;

/** Set by the local stack; optional for users who bring their own brokers. */
export const POSTGRES_URL_VAR = 'MQGATE_POSTGRES_URL';

/** Parses the three broker variables (undefined unless all are set) and the optional PostgreSQL URL. */
export function stackEnvFrom(env: NodeJS.ProcessEnv): StackEnv | undefined {
  const [kafka, rabbitmqUrl, redisUrl] = STACK_ENV_VARS.map((name) => env[name]?.trim());
  if (!kafka || !rabbitmqUrl || !redisUrl) return undefined;
  const kafkaBrokers = kafka
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  const postgresUrl = env[POSTGRES_URL_VAR]?.trim();
  return { kafkaBrokers, rabbitmqUrl, redisUrl, ...(postgresUrl ? { postgresUrl } : {}) };
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

/** The PostgreSQL URL for a test; throws with what to set when the stack in use has none. */
export function stackPostgresUrl(): string {
  const { postgresUrl } = stackEnv();
  if (postgresUrl) return postgresUrl;
  throw new Error(
    `no PostgreSQL URL: set ${POSTGRES_URL_VAR} beside ${STACK_ENV_VARS.join(', ')}, or let test/global-setup.ts ` +
      'start the local stack, which runs one (see docs/stack.md)',
  );
}
