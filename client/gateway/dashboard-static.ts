import fs from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { PACKAGE_ROOT } from '../../infra/package-root';

/**
 * Serves the dashboard's bundle (built by infra/setup/build-dashboard.ts into dist/dashboard/) at
 * /dashboard/. The page and its scripts are open, like /docs: they hold no data. Every number the page
 * shows comes from /api/dashboard/…, which asks for the API key like every other API route.
 */

export const DASHBOARD_PATH = '/dashboard';
export const DEFAULT_DASHBOARD_DIR = path.join(PACKAGE_ROOT, 'dist', 'dashboard');

export interface DashboardStaticOptions {
  /** The built bundle's folder (default dist/dashboard). */
  root?: string;
  /** Whether the API asks for a key: the page then asks for it before its first request, not after a 401. */
  keyRequired: boolean;
}

export const DASHBOARD_ACCESS_PATH = `${DASHBOARD_PATH}/access.json`;

/**
 * The page loads only what it was built with: no CDN, no inline script. uPlot and Preact set element
 * styles from script (style-src 'unsafe-inline' covers those); data: is for the empty favicon.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'self'",
  "form-action 'self'",
].join('; ');

export async function dashboardStatic(app: FastifyInstance, options: DashboardStaticOptions): Promise<void> {
  const root = options.root ?? DEFAULT_DASHBOARD_DIR;
  const hidden = { schema: { hide: true }, logLevel: 'warn' as const };

  app.get(DASHBOARD_PATH, hidden, async (_request, reply) => reply.redirect(`${DASHBOARD_PATH}/`, 301));
  // Says only whether a key is needed, never which: the same thing a 401 would say.
  app.get(DASHBOARD_ACCESS_PATH, hidden, async (_request, reply) =>
    reply.header('cache-control', 'no-store').send({ keyRequired: options.keyRequired, keyHeader: 'x-functions-key' }),
  );

  if (!fs.existsSync(path.join(root, 'index.html'))) {
    // A gateway started from a checkout nobody built: say how to build it rather than answer 404.
    app.get(`${DASHBOARD_PATH}/*`, hidden, async (_request, reply) =>
      reply
        .status(503)
        .type('text/plain; charset=utf-8')
        .send(`The dashboard is not built (no ${path.join(root, 'index.html')}): run \`npm run build:dashboard\`, or \`npm start\`, which builds it.\n`),
    );
    return;
  }

  await app.register(fastifyStatic, {
    root,
    prefix: `${DASHBOARD_PATH}/`,
    decorateReply: false,
    index: ['index.html'],
    // @fastify/static serves dotfiles by default; nothing the build writes starts with a dot, whatever else lands there (.env, .git) is 404.
    dotfiles: 'ignore',
    // The build writes .br and .gz beside each file.
    preCompressed: true,
    logLevel: 'warn',
    // Each bundle file's name carries its content hash, so it never changes; index.html names the current ones.
    setHeaders: (reply, filePath) => {
      const immutable = filePath.includes(`${path.sep}assets${path.sep}`);
      reply.header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
      reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'no-referrer');
    },
    schemaHide: true,
  });
}
