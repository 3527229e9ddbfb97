import { type MqgateError, toMqgateError } from '../errors.js';
import type { TopicPartition } from '../ports/subscriber.js';
import { diffAssignment, tpKey } from './assignment.js';

/** What an adapter does to own one partition; the rebalancer decides when. */
export interface PartitionHooks {
  /** Takes exclusive ownership (a lease, a queue); resolves false when another member still holds it. */
  acquire(tp: TopicPartition): Promise<boolean>;
  /** Starts delivering the partition's messages; called after `onAssign`. */
  start(tp: TopicPartition): void;
  /** Stops intake and resolves once the partition's in-flight handler settled and was acknowledged. */
  stop(tp: TopicPartition): Promise<void>;
  /** Gives the partition up so that another member may take it (after `onRevoke`). */
  release(tp: TopicPartition): Promise<void>;
}

export interface RebalancerCallbacks {
  readonly onAssign?: ((assigned: readonly TopicPartition[]) => void | Promise<void>) | undefined;
  readonly onRevoke?: ((revoked: readonly TopicPartition[]) => void | Promise<void>) | undefined;
  readonly onError: (error: MqgateError) => void;
}

/**
 * Moves a member from the partitions it owns to the ones the assignment gives it, one step at a time
 * (steps never overlap). Order per the subscriber port: for a revoked partition stop intake and let
 * in-flight settle, then `onRevoke`, then release; for a new one acquire, then `onAssign`, then start.
 * A partition whose acquire fails or is refused is tried again on the next step.
 */
export class Rebalancer {
  readonly #hooks: PartitionHooks;
  readonly #callbacks: RebalancerCallbacks;
  readonly #owned = new Map<string, TopicPartition>();
  #chain: Promise<void> = Promise.resolve();

  constructor(hooks: PartitionHooks, callbacks: RebalancerCallbacks) {
    this.#hooks = hooks;
    this.#callbacks = callbacks;
  }

  owned(): TopicPartition[] {
    return [...this.#owned.values()];
  }

  /** Revokes what is not in `desired` and acquires what is missing. */
  reconcile(desired: readonly TopicPartition[]): Promise<void> {
    return this.#serial(async () => {
      const { revoke, acquire } = diffAssignment(this.owned(), desired);
      await this.#revoke(revoke, true);
      const acquired: TopicPartition[] = [];
      for (const tp of acquire) {
        try {
          if (await this.#hooks.acquire(tp)) acquired.push(tp);
        } catch (err) {
          this.#callbacks.onError(toMqgateError(err));
        }
      }
      if (acquired.length === 0) return;
      for (const tp of acquired) this.#owned.set(tpKey(tp), tp);
      await this.#call(() => this.#callbacks.onAssign?.(acquired));
      for (const tp of acquired) this.#hooks.start(tp);
    });
  }

  /** Partitions this member lost without giving them up (an expired lease): stop them, do not release. */
  lost(tps: readonly TopicPartition[]): Promise<void> {
    return this.#serial(() => this.#revoke(tps, false));
  }

  /** Revokes and releases every owned partition (leaving the group). */
  revokeAll(): Promise<void> {
    return this.#serial(() => this.#revoke(this.owned(), true));
  }

  async #revoke(tps: readonly TopicPartition[], release: boolean): Promise<void> {
    const mine = tps.filter((tp) => this.#owned.has(tpKey(tp)));
    if (mine.length === 0) return;
    await Promise.all(mine.map((tp) => this.#hooks.stop(tp).catch((err) => this.#report(err))));
    await this.#call(() => this.#callbacks.onRevoke?.(mine));
    for (const tp of mine) this.#owned.delete(tpKey(tp));
    if (!release) return;
    await Promise.all(mine.map((tp) => this.#hooks.release(tp).catch((err) => this.#report(err))));
  }

  async #call(fn: () => void | Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.#report(err);
    }
  }

  #report(err: unknown): void {
    this.#callbacks.onError(toMqgateError(err));
  }

  #serial(step: () => Promise<void>): Promise<void> {
    const next = this.#chain.then(step, step);
    this.#chain = next.catch(() => undefined);
    return next;
  }
}
