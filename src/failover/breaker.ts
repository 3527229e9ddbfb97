/** Circuit breaker states, as in Hystrix and undici's pool: closed (healthy), open (skipped), half-open (on trial). */
export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerPolicy {
  /** Consecutive failures that open a closed breaker. */
  readonly failureThreshold: number;
  /** How long an open breaker stays open before a trial. */
  readonly openForMs: number;
}

export interface BreakerSnapshot {
  readonly state: BreakerState;
  readonly since: number;
  readonly consecutiveFailures: number;
  readonly lastError?: { readonly code: string; readonly message: string; readonly at: number };
}

/**
 * A pure circuit breaker: no timers and no I/O, the clock is passed in. `onSuccess` and `onFailure` feed it
 * publish outcomes and probe results; `state(now)` tells whether to use the backend.
 */
export class Breaker {
  #state: BreakerState = 'closed';
  #since: number;
  #failures = 0;
  #lastError: BreakerSnapshot['lastError'];

  constructor(
    readonly policy: BreakerPolicy,
    now: number,
    initial: BreakerState = 'closed',
  ) {
    this.#since = now;
    this.#state = initial;
  }

  /** The state at `now`: an open breaker whose time is up becomes half-open. */
  state(now: number): BreakerState {
    if (this.#state === 'open' && now - this.#since >= this.policy.openForMs) this.#move('half-open', now);
    return this.#state;
  }

  /** Whether traffic may go to the backend now (closed, or half-open for a trial). */
  allows(now: number): boolean {
    return this.state(now) !== 'open';
  }

  /** Returns true when this call changed the state. */
  onSuccess(now: number): boolean {
    this.#failures = 0;
    if (this.state(now) === 'closed') return false;
    this.#move('closed', now);
    return true;
  }

  /** A failure; `hard` (a failed probe, a lost connection) opens at once. Returns true when it changed the state. */
  onFailure(now: number, error: { code: string; message: string }, hard = false): boolean {
    this.#failures += 1;
    this.#lastError = { code: error.code, message: error.message, at: now };
    const state = this.state(now);
    if (
      state === 'half-open' ||
      (state === 'closed' && (hard || this.#failures >= this.policy.failureThreshold))
    ) {
      this.#move('open', now);
      return true;
    }
    if (state === 'open') this.#since = now;
    return false;
  }

  snapshot(now: number): BreakerSnapshot {
    const state = this.state(now);
    const base = { state, since: this.#since, consecutiveFailures: this.#failures };
    return this.#lastError === undefined ? base : { ...base, lastError: this.#lastError };
  }

  #move(state: BreakerState, now: number): void {
    this.#state = state;
    this.#since = now;
  }
}
