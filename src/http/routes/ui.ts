import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { MqgateError } from '../../errors.js';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

// The page loads nothing from elsewhere and runs no inline script: a stored topic name or error message that
// slipped into the DOM as markup could not execute or call out.
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

/**
 * The dashboard's static files: `ui/` at the package root, found by walking up from this module (it runs from
 * `src/http/routes/` under tsx and from `dist/src/http/routes/` once built; package.json ships `ui/`).
 */
export function findUiDir(from: string = dirname(fileURLToPath(import.meta.url))): string | undefined {
  for (let dir = from, i = 0; i < 6; i++, dir = dirname(dir)) {
    if (existsSync(join(dir, 'ui', 'index.html')) && existsSync(join(dir, 'package.json'))) {
      return join(dir, 'ui');
    }
  }
  return undefined;
}

/** Every servable file of `dir` by name, read once at start (a few kilobytes). */
function loadAssets(dir: string): Map<string, { body: Buffer; type: string }> {
  const assets = new Map<string, { body: Buffer; type: string }>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (type !== undefined) assets.set(name, { body: readFileSync(join(dir, name)), type });
  }
  return assets;
}

/**
 * `GET /ui`: the live dashboard. The files are a static shell with no data in them, so they are served to
 * anyone (a browser cannot attach a bearer token to a navigation); every datum the page shows comes from the
 * admin API, called with the credential the user types into the page, under the admin right like any client.
 */
export async function uiRoutes(app: FastifyInstance, opts: { dir?: string } = {}): Promise<void> {
  const dir = opts.dir ?? findUiDir();
  const assets = dir === undefined ? new Map() : loadAssets(dir);
  const open = { config: { access: 'open' as const }, schema: { hide: true } };

  // Relative redirect and relative URLs in the page: it also works behind an ingress that adds a path prefix.
  app.get('/ui', open, async (_request, reply) => reply.redirect('ui/', 302));
  app.get<{ Params: { file?: string } }>('/ui/:file', open, async (request, reply) => {
    const asset = assets.get(request.params.file || 'index.html');
    if (asset === undefined) {
      throw new MqgateError('MQGATE_ERR_NOT_FOUND', `no dashboard file '${request.params.file}'`);
    }
    return reply
      .type(asset.type)
      .header('cache-control', 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', CSP)
      .header('referrer-policy', 'no-referrer')
      .send(asset.body);
  });
}
