import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { errorBody } from '@sightline/core';
import { build } from 'esbuild';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';

/** serving/web: the same two levels up from src/routes (development) and dist/routes (npm start). */
const WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url));

/** Browsers the dashboard is written for (evergreen, two years back). */
const TARGET = ['es2020', 'chrome100', 'firefox100', 'safari15'];

interface Asset {
  body: Buffer;
  gzipped: Buffer;
  type: string;
  etag: string;
}

export interface DashboardBundle {
  index: Asset;
  /** By file name, e.g. `main-4KX2B7QZ.js`: content-hashed, so cached for good. */
  assets: Map<string, Asset>;
}

/**
 * Only this origin: the dashboard makes no third-party request (no CDN, no web font, no beacon),
 * and the policy makes a slip visible in the browser's console instead of leaking a request.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  // uPlot and Preact set inline style attributes for sizes and positions.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.js': 'application/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
};

function asset(body: Buffer, type: string): Asset {
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
  return { body, gzipped: gzipSync(body, { level: 9 }), type, etag };
}

/**
 * Bundles serving/web with esbuild in memory: one minified script and one stylesheet with
 * content-hashed names, and index.html pointing at them. Bundling at start (about a second, once)
 * keeps one way of serving for `npm start` (dist) and `npm test` (sources, no build step).
 */
export async function buildDashboard(webDir = WEB_DIR): Promise<DashboardBundle> {
  const result = await build({
    entryPoints: [path.join(webDir, 'src/main.tsx')],
    absWorkingDir: webDir,
    bundle: true,
    minify: true,
    format: 'esm',
    target: TARGET,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: path.join(webDir, 'out'),
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    write: false,
    legalComments: 'none',
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const assets = new Map<string, Asset>();
  for (const file of result.outputFiles) {
    const name = path.basename(file.path);
    const type = TYPES[path.extname(name)];
    if (type) assets.set(name, asset(Buffer.from(file.contents), type));
  }
  const script = [...assets.keys()].find((n) => n.endsWith('.js'));
  const style = [...assets.keys()].find((n) => n.endsWith('.css'));
  if (!script || !style) throw new Error(`the dashboard bundle lacks a script or a stylesheet`);
  const html = (await readFile(path.join(webDir, 'index.html'), 'utf8'))
    .replace('%STYLE%', `/assets/${style}`)
    .replace('%SCRIPT%', `/assets/${script}`);
  return { index: asset(Buffer.from(html), TYPES['.html']!), assets };
}

function send(request: FastifyRequest, reply: FastifyReply, file: Asset, cacheControl: string) {
  void reply
    .header('content-type', file.type)
    .header('cache-control', cacheControl)
    .header('etag', file.etag)
    .header('vary', 'accept-encoding')
    .header('x-content-type-options', 'nosniff');
  if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
  if (/\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))) {
    return reply.header('content-encoding', 'gzip').send(file.gzipped);
  }
  return reply.send(file.body);
}

/**
 * GET / (the dashboard page) and GET /assets/:name (its script and stylesheet). Public: the page
 * holds no data; it asks the query API with the key the reader signs in with. The bundle is made on
 * the first request and kept; a failed build is tried again on the next one.
 */
export const dashboardRoutes: FastifyPluginAsync = async (app) => {
  let bundle: Promise<DashboardBundle> | undefined;
  const current = () => {
    bundle ??= buildDashboard().catch((error: unknown) => {
      bundle = undefined;
      throw error;
    });
    return bundle;
  };
  const config = { auth: 'public' as const };
  const schema = { hide: true };

  app.get('/', { config, schema }, async (request, reply) => {
    const { index } = await current();
    void reply
      .header('content-security-policy', CONTENT_SECURITY_POLICY)
      .header('referrer-policy', 'no-referrer');
    // no-cache: revalidated every time (a 304 when unchanged), so a new bundle is picked up at once.
    return send(request, reply, index, 'no-cache');
  });

  app.get<{ Params: { name: string } }>('/assets/:name', { config, schema }, async (request, reply) => {
    const file = (await current()).assets.get(request.params.name);
    if (!file) {
      return reply
        .code(404)
        .send(errorBody('not_found', `no dashboard asset ${request.params.name}; reload the page`));
    }
    return send(request, reply, file, 'public, max-age=31536000, immutable');
  });
};
