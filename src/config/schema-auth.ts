import { Type } from '@sinclair/typebox';
import { Duration, Strict, Tagged, Text } from './schema-types.js';

/**
 * The `auth` and `rateLimit` sections. With `mode: none` every request is allowed (a trusted network only);
 * with `apiKey` or `jwt` every request but the open ops paths must carry a credential, and what it may do is
 * what `acl` grants: nothing by default.
 */

const Globs = (description: string) =>
  Type.Array(Text('topic glob (`*` any run of characters, `?` one)'), { default: [], description });

export const AclRuleSchema = Strict({
  principal: Text('API key name or JWT subject this rule applies to (a glob: `*` is everyone authenticated)'),
  publish: Globs('topics this principal may publish to'),
  subscribe: Globs('topics this principal may consume (reserved for consumer endpoints)'),
  admin: Globs('topics this principal may administer (DLQ, outbox); `*` also grants the global admin views'),
});

const Acl = Type.Array(AclRuleSchema, {
  default: [],
  description: 'grants; a request no rule allows is refused',
});

export const ApiKeySchema = Strict({
  name: Text('principal name of the key (what ACL rules, rate limits and logs use)'),
  sha256: Type.String({
    pattern: '^[0-9a-f]{64}$',
    description: 'hex SHA-256 of the key; the key itself is never stored',
  }),
});

export const AuthSchema = Tagged(
  'mode',
  [
    Strict({ mode: Type.Literal('none') }),
    Strict({
      mode: Type.Literal('apiKey'),
      keys: Type.Array(ApiKeySchema, { minItems: 1, description: 'accepted API keys, as names and hashes' }),
      acl: Acl,
    }),
    Strict({
      mode: Type.Literal('jwt'),
      secret: Type.Optional(Text('HS256 secret that signs tokens (secret)')),
      publicKey: Type.Optional(Text('RS256 public key, PEM (SPKI)')),
      issuer: Text('required `iss` claim'),
      audience: Text('required `aud` claim'),
      principalClaim: Text('claim naming the principal', { default: 'sub' }),
      clockTolerance: Duration('5s', 'leeway for `exp` and `nbf`'),
      acl: Acl,
    }),
  ],
  { default: { mode: 'none' } },
);

export const RateLimitSchema = Strict(
  {
    max: Type.Integer({
      minimum: 0,
      default: 0,
      description: 'requests per window per credential (per client address without auth); 0: off',
    }),
    window: Duration('1s', 'the rate-limit window'),
  },
  { default: {} },
);
