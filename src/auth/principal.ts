import type { AclRule } from '../config/types.js';
import { globToRegExp } from '../routing/router.js';

/** What a grant lets a principal do to a topic. `subscribe` is reserved for consumer endpoints. */
export type Right = 'publish' | 'subscribe' | 'admin';

export const RIGHTS: readonly Right[] = ['publish', 'subscribe', 'admin'];

/**
 * Who made a request and what the ACL grants them. Built once per credential check; `can` is pure.
 * `anonymous` (auth mode `none`) may do everything.
 */
export class Principal {
  readonly #grants: Record<Right, { glob: string; re: RegExp }[]>;
  readonly #all: boolean;

  private constructor(
    readonly name: string,
    readonly kind: 'anonymous' | 'apiKey' | 'jwt',
    grants: Record<Right, string[]>,
    all: boolean,
  ) {
    this.#all = all;
    this.#grants = {
      publish: grants.publish.map((glob) => ({ glob, re: globToRegExp(glob) })),
      subscribe: grants.subscribe.map((glob) => ({ glob, re: globToRegExp(glob) })),
      admin: grants.admin.map((glob) => ({ glob, re: globToRegExp(glob) })),
    };
  }

  /** The caller when auth is off: every right on every topic. */
  static anonymous(): Principal {
    return new Principal('anonymous', 'anonymous', { publish: [], subscribe: [], admin: [] }, true);
  }

  /** A credential's principal with the union of the ACL rules whose `principal` glob matches its name. */
  static fromAcl(name: string, kind: 'apiKey' | 'jwt', acl: readonly AclRule[]): Principal {
    const grants: Record<Right, string[]> = { publish: [], subscribe: [], admin: [] };
    for (const rule of acl) {
      if (!globToRegExp(rule.principal).test(name)) continue;
      for (const right of RIGHTS) grants[right].push(...rule[right]);
    }
    return new Principal(name, kind, grants, false);
  }

  /**
   * Whether the principal holds `right` on `topic`. Without a topic (a view over every topic) only a grant
   * of `*` counts.
   */
  can(right: Right, topic?: string): boolean {
    if (this.#all) return true;
    const grants = this.#grants[right];
    if (topic === undefined) return grants.some((g) => g.glob === '*');
    return grants.some((g) => g.re.test(topic));
  }

  /** Whether the principal holds `right` on at least one topic. */
  hasAny(right: Right): boolean {
    return this.#all || this.#grants[right].length > 0;
  }
}
