import { createHash, createSecretKey, type KeyObject } from 'node:crypto';
import { importSPKI, errors as joseErrors, jwtVerify } from 'jose';
import type { AuthConfig } from '../config/types.js';
import { MqgateError } from '../errors.js';
import { Principal } from './principal.js';

/** The credential a request presented, as read from its headers. */
export interface PresentedCredential {
  /** `Authorization: Bearer <x>` or `X-API-Key: <x>`. */
  readonly token: string | undefined;
}

/** Turns a presented credential into a Principal, or rejects with MQGATE_ERR_UNAUTHENTICATED. */
export type Authenticator = (credential: PresentedCredential) => Promise<Principal>;

const unauthenticated = (detail: string) => new MqgateError('MQGATE_ERR_UNAUTHENTICATED', detail);

/** The hex SHA-256 of an API key: what `auth.keys[i].sha256` holds. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Reads the credential from `Authorization: Bearer` (or `X-API-Key`). */
export function presentedCredential(
  headers: Record<string, string | string[] | undefined>,
): PresentedCredential {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    return { token: match?.[1] };
  }
  const key = headers['x-api-key'];
  return { token: typeof key === 'string' && key !== '' ? key : undefined };
}

function apiKeyAuthenticator(config: Extract<AuthConfig, { mode: 'apiKey' }>): Authenticator {
  const byHash = new Map(config.keys.map((k) => [k.sha256.toLowerCase(), k.name]));
  const principals = new Map<string, Principal>();
  return async ({ token }) => {
    if (token === undefined)
      throw unauthenticated('an API key is required (Authorization: Bearer or X-API-Key)');
    // Looked up by hash: the keys are never held in memory, and the lookup reveals nothing about them.
    const name = byHash.get(hashApiKey(token));
    if (name === undefined) throw unauthenticated('unknown API key');
    let principal = principals.get(name);
    if (principal === undefined) {
      principal = Principal.fromAcl(name, 'apiKey', config.acl);
      principals.set(name, principal);
    }
    return principal;
  };
}

async function jwtAuthenticator(config: Extract<AuthConfig, { mode: 'jwt' }>): Promise<Authenticator> {
  const algorithm = config.secret !== undefined ? 'HS256' : 'RS256';
  let key: KeyObject | Awaited<ReturnType<typeof importSPKI>>;
  try {
    key =
      config.secret !== undefined
        ? createSecretKey(Buffer.from(config.secret, 'utf8'))
        : await importSPKI(config.publicKey!, 'RS256');
  } catch (err) {
    throw new MqgateError('MQGATE_ERR_CONFIG', 'auth.publicKey: not a PEM (SPKI) RSA public key', {
      cause: err,
    });
  }
  return async ({ token }) => {
    if (token === undefined) throw unauthenticated('a bearer token is required (Authorization: Bearer)');
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, key, {
        algorithms: [algorithm],
        issuer: config.issuer,
        audience: config.audience,
        clockTolerance: Math.round(config.clockToleranceMs / 1000),
      }));
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw unauthenticated('token expired');
      if (err instanceof joseErrors.JWTClaimValidationFailed)
        throw unauthenticated(`token rejected: ${err.message}`);
      throw unauthenticated('invalid token');
    }
    const name = payload[config.principalClaim];
    if (typeof name !== 'string' || name === '') {
      throw unauthenticated(`token has no "${config.principalClaim}" claim`);
    }
    return Principal.fromAcl(name, 'jwt', config.acl);
  };
}

/**
 * The authenticator for an auth config, or `undefined` for mode `none` (every caller is anonymous and may do
 * everything). Rejects with MQGATE_ERR_CONFIG when a JWT key cannot be read.
 */
export async function createAuthenticator(config: AuthConfig): Promise<Authenticator | undefined> {
  switch (config.mode) {
    case 'none':
      return undefined;
    case 'apiKey':
      return apiKeyAuthenticator(config);
    case 'jwt':
      return jwtAuthenticator(config);
  }
}
