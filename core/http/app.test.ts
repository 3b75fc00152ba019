import { once } from 'node:events';
import { get } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { Writable } from 'node:stream';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { request, useTestContext } from '../../test/helpers/context.ts';
import { baseTestEnv } from '../../test/helpers/env.ts';
import { loadConfig, resolveConfig } from '../config.ts';
import { closeDeps, createDeps } from '../deps.ts';
import { createHttpApp } from './app.ts';

const ctx = useTestContext({ BODY_LIMIT: '4096' });

describe('errors in the contract shape', () => {
  it('answers unknown routes with 404 not_found', async () => {
    const res = await ctx.request('GET', '/api/v1/nope');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({
      error: { code: 'not_found', message: 'no route for GET /api/v1/nope' },
    });
    expect((await ctx.request('DELETE', '/healthz')).status).toBe(404);
  });

  it('answers malformed JSON with 400 validation_failed', async () => {
    for (const raw of ['{bad', '', 'null', '[1,2]', '"text"']) {
      const res = await ctx.request('POST', '/api/v1/auth/login', {
        raw,
        headers: { 'content-type': 'application/json' },
      });
      expect(res.status, raw).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
    }
  });

  it('answers a wrong or missing content type with 415', async () => {
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      const res = await ctx.request('POST', '/api/v1/auth/login', {
        raw: 'email=a&password=b',
        headers: { 'content-type': type },
      });
      expect(res.status, type).toBe(415);
      expect(res.body.error.code).toBe('unsupported_media_type');
    }
    const none = await ctx.request('POST', '/api/v1/auth/login', { raw: '{"email":"a"}' });
    expect(none.status).toBe(415);
  });

  it('answers an oversized body with 413, declared or streamed', async () => {
    const big = JSON.stringify({ email: 'a@b.co', password: 'x'.repeat(10_000) });
    const res = await ctx.request('POST', '/api/v1/auth/login', {
      raw: big,
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
    // Without a Content-Length the limit still holds while reading the stream.
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big));
        controller.close();
      },
    });
    const streamed = await ctx.app.request('/api/v1/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(((await streamed.json()) as { error: { code: string } }).error.code).toBe(
      'payload_too_large',
    );
  });

  it('never answers bad input with a 500', async () => {
    const bodies = [
      { email: null, password: null },
      { email: { $gt: '' }, password: 'x' },
      { email: 'a'.repeat(10_000), password: 'x' },
      { refreshToken: 12 },
    ];
    for (const body of bodies) {
      for (const path of ['/api/v1/auth/login', '/api/v1/auth/signup', '/api/v1/auth/refresh']) {
        const res = await ctx.request('POST', path, { body });
        expect(res.status, `${path} ${JSON.stringify(body).slice(0, 40)}`).toBeGreaterThanOrEqual(
          400,
        );
        expect(res.status).toBeLessThan(500);
        expect(typeof res.body.error.code).toBe('string');
      }
    }
  });
});

describe('plumbing', () => {
  it('gives every response a request id, and keeps one sent by the proxy', async () => {
    const res = await ctx.request('GET', '/healthz');
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const kept = await ctx.request('GET', '/healthz', {
      headers: { 'x-request-id': 'edge-abc123' },
    });
    expect(kept.headers.get('x-request-id')).toBe('edge-abc123');
  });

  it('sets security headers', async () => {
    const res = await ctx.request('GET', '/healthz');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('serves health, readiness and Prometheus metrics with request duration histograms', async () => {
    expect((await ctx.request('GET', '/healthz')).body).toEqual({ status: 'ok' });
    const ready = await ctx.request('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toEqual({ postgres: { ok: true }, redis: { ok: true } });
    await ctx.request('POST', '/api/v1/auth/login', { body: {} });
    await ctx.request('GET', '/api/v1/no/such/route/zebra-marker');
    const metrics = await ctx.request('GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(metrics.text).toMatch(
      /http_request_duration_seconds_bucket\{le="0\.005",method="POST",route="\/api\/v1\/auth\/login",status="400"\}/,
    );
    // Unknown paths share one label instead of growing the series without bound.
    expect(metrics.text).toMatch(/method="GET",route="unmatched",status="404"/);
    expect(metrics.text).not.toContain('zebra-marker');
    expect(metrics.text).toContain('process_cpu_user_seconds_total');
  });

  it('reports 503 on /readyz while shutting down', async () => {
    ctx.deps.lifecycle.shuttingDown = true;
    try {
      const res = await ctx.request('GET', '/readyz');
      expect(res.status).toBe(503);
      expect(res.body.status).toBe('shutting_down');
    } finally {
      ctx.deps.lifecycle.shuttingDown = false;
    }
  });

  it('reports 503 on /readyz, and API calls answer 503 unavailable, when PostgreSQL and Redis are unreachable', async () => {
    // Ports nothing listens on: the dependencies are "down" for this app only.
    const config = resolveConfig(
      loadConfig({
        ...baseTestEnv(),
        DATABASE_URL: 'postgres://postgres@127.0.0.1:1/unimal',
        REDIS_URL: 'redis://127.0.0.1:1/0',
        DATA_DIR: ctx.deps.config.dataDir,
      }),
    );
    const deps = createDeps(config);
    const { createApi } = await import('../../server/api.ts');
    const app = createHttpApp(deps, { api: createApi(deps) });
    try {
      const res = await request(app, 'GET', '/readyz');
      expect(res.status).toBe(503);
      expect(res.body.checks.postgres.ok).toBe(false);
      expect(res.body.checks.redis.ok).toBe(false);
      const login = await request(app, 'POST', '/api/v1/auth/login', {
        body: { email: 'a@b.co', password: 'whatever-1' },
      });
      expect(login.status).toBe(503);
      expect(login.body.error.code).toBe('unavailable');
      expect(login.headers.get('retry-after')).toBeTruthy();
      const me = await request(app, 'GET', '/api/v1/me', {
        token: 'eyJhbGciOiJIUzI1NiJ9.e30.ZRrHA1JJJW8opsbCGfG_HACGpVUMN_a9IV7pAx_Zmeo',
      });
      expect(me.status).toBe(401);
    } finally {
      await closeDeps(deps);
    }
  });
});

describe('a dependency that breaks off its response', () => {
  it('is a 503 and an error log, not a client abort, even though Node calls it `aborted`', async () => {
    // A storage-like server that declares 100 bytes, sends 10, and hangs up: Node's HTTP
    // client raises ECONNRESET "aborted", the very error a client's broken body raises.
    const upstream = createServer((socket) => {
      socket.once('data', () => {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789');
        setImmediate(() => socket.destroy());
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const upstreamPort = (upstream.address() as AddressInfo).port;
    const lines: Array<{ level: number; msg: string }> = [];
    const logger = pino(
      { level: 'debug' },
      new Writable({
        write(chunk, _enc, done) {
          for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
          done();
        },
      }),
    );
    const api = new Hono().get('/api/v1/original', async () => {
      const body = await new Promise<string>((resolve, reject) => {
        get(`http://127.0.0.1:${upstreamPort}/`, (res) => {
          let text = '';
          res.on('data', (c) => {
            text += c;
          });
          res.on('end', () => resolve(text));
          res.on('error', reject);
        }).on('error', reject);
      });
      return new Response(body);
    });
    const app = createHttpApp({ ...ctx.deps, logger }, { api: api as never });
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    await once(server, 'listening');
    try {
      const res = await fetch(
        `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/original`,
      );
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unavailable');
      expect(lines.some((l) => l.level === 50 && l.msg === 'request failed')).toBe(true);
    } finally {
      await new Promise((r) => server.close(r));
      await new Promise((r) => upstream.close(r));
    }
  });
});

describe('OpenAPI', () => {
  it('publishes the document generated from the request schemas', async () => {
    const res = await ctx.request('GET', '/api/v1/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    for (const path of [
      '/auth/signup',
      '/auth/login',
      '/auth/refresh',
      '/auth/logout',
      '/me',
      '/users/{id}',
      '/users/{id}/follow',
      '/users/{id}/followers',
      '/users/{id}/following',
      '/users/{id}/posts',
      '/posts',
      '/posts/{id}',
      '/posts/nearby',
      '/feed',
      '/posts/{id}/comments',
      '/comments/{id}',
      '/posts/{id}/like',
      '/photos',
      '/photos/uploads',
      '/photos/{id}/complete',
      '/photos/{id}',
      '/notifications',
      '/notifications/unread-count',
      '/notifications/read',
      '/map/cells',
      '/map/sightings',
    ]) {
      expect(Object.keys(res.body.paths)).toContain(path);
    }
    const signup = res.body.components.schemas.SignupRequest;
    expect(signup.required).toEqual(
      expect.arrayContaining(['email', 'password', 'handle', 'displayName']),
    );
    expect(res.body.paths['/me'].patch.security).toEqual([{ bearerAuth: [] }]);
    expect(Object.keys(res.body.paths['/me']).sort()).toEqual(['delete', 'get', 'patch']);
    expect(res.body.components.securitySchemes.bearerAuth.scheme).toBe('bearer');
  });

  it('serves a human-readable reference page with its assets locally', async () => {
    const page = await ctx.request('GET', '/api/v1/docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.text).toContain('swagger-ui-bundle.js');
    const js = await ctx.request('GET', '/api/v1/docs/assets/swagger-ui-bundle.js');
    expect(js.status).toBe(200);
    expect(js.text.length).toBeGreaterThan(100_000);
    expect((await ctx.request('GET', '/api/v1/docs/assets/..%2Fpackage.json')).status).toBe(404);
    for (const name of ['constructor', 'toString', '__proto__', 'valueOf']) {
      expect((await ctx.request('GET', `/api/v1/docs/assets/${name}`)).status, name).toBe(404);
    }
  });
});
