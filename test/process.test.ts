import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import sharp from 'sharp';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { readMigrations } from '../core/migrate.ts';
import { buildUser } from './helpers/builders.ts';
import { deleteRedisPrefix } from './helpers/context.ts';
import { databaseUrl, TEST_DB_PREFIX } from './helpers/env.ts';
import { phoneJpeg } from './helpers/images.ts';
import { type NodeProcess, runNodeToExit, spawnNode } from './helpers/process.ts';

// A database that does not exist yet: the first start must create and migrate it.
const dbName = `${TEST_DB_PREFIX}${inject('runId')}_proc_${randomBytes(4).toString('hex')}`;
const redisPrefix = `test:${inject('runId')}:proc:`;
const dataDir = mkdtempSync(path.join(tmpdir(), 'unimal-proc-'));
const env = {
  DATABASE_URL: databaseUrl(dbName),
  DATABASE_CREATE: 'true',
  MIGRATE_ON_START: 'true',
  REDIS_PREFIX: redisPrefix,
  DATA_DIR: dataDir,
};
const nodes: NodeProcess[] = [];

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
  await deleteRedisPrefix(redisPrefix);
  rmSync(dataDir, { recursive: true, force: true });
  // The database itself is dropped with the run's others in the global teardown.
});

const post = (url: string, body: unknown) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('the real entrypoint', { timeout: 120_000 }, () => {
  it('two nodes starting together on one new database: created, migrated once, both serving', async () => {
    const [a, b] = await Promise.all([spawnNode(env), spawnNode(env)]);
    nodes.push(a!, b!);
    expect(a!.port).not.toBe(b!.port);

    const sql = postgres(databaseUrl(dbName), { max: 1 });
    try {
      const rows = await sql`select version from schema_migrations order by version`;
      expect(rows.map((r) => r.version)).toEqual((await readMigrations()).map((m) => m.version));
    } finally {
      await sql.end();
    }

    for (const node of [a!, b!]) {
      expect((await fetch(`${node.url}/readyz`)).status).toBe(200);
    }
    // Sign up through one node, sign in through the other.
    const input = buildUser();
    const signup = await post(`${a!.url}/api/v1/auth/signup`, input);
    expect(signup.status).toBe(201);
    const login = await post(`${b!.url}/api/v1/auth/login`, {
      email: input.email,
      password: input.password,
    });
    expect(login.status).toBe(200);
    const { accessToken } = (await login.json()) as { accessToken: string };
    const me = await fetch(`${a!.url}/api/v1/me`, {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(me.status).toBe(200);
  });

  it('shuts down cleanly on SIGTERM and SIGINT, finishing with exit code 0', async () => {
    const node = await spawnNode(env);
    nodes.push(node);
    expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
    expect(await node.stop('SIGTERM')).toBe(0);
    expect(node.logs.some((l) => l.msg === 'stopped')).toBe(true);
    const other = await spawnNode(env);
    nodes.push(other);
    expect(await other.stop('SIGINT')).toBe(0);
  });

  it('runs a single role: a gateway-only node serves ops routes but not the API', async () => {
    const node = await spawnNode({
      ...env,
      ROLES: 'gateway',
      MEDIA_PUBLIC_URL: 'http://localhost/media',
    });
    nodes.push(node);
    expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${node.url}/metrics`)).status).toBe(200);
    const api = await post(`${node.url}/api/v1/auth/login`, {
      email: 'a@b.co',
      password: 'whatever',
    });
    expect(api.status).toBe(404);
    expect(await node.stop()).toBe(0);
  });

  it('a newcomer uploads a phone photo to the embedded S3 store, posts it, and opens its three URLs', async () => {
    const node = await spawnNode(env);
    nodes.push(node);
    expect(node.logs.some((l) => l.msg === 'embedded S3-compatible server started')).toBe(true);
    const input = buildUser();
    const { accessToken } = (await (
      await post(`${node.url}/api/v1/auth/signup`, input)
    ).json()) as {
      accessToken: string;
    };
    const auth = { authorization: `Bearer ${accessToken}` };
    const form = new FormData();
    form.append(
      'file',
      new Blob([new Uint8Array(await phoneJpeg())], { type: 'image/jpeg' }),
      'IMG_0001.jpg',
    );
    const uploaded = await fetch(`${node.url}/api/v1/photos`, {
      method: 'POST',
      headers: auth,
      body: form,
    });
    expect(uploaded.status).toBe(201);
    const photo = (await uploaded.json()) as { id: string; urls: Record<string, string> };
    const created = await fetch(`${node.url}/api/v1/posts`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'wild', body: 'Hedgehog in the garden', photoIds: [photo.id] }),
    });
    expect(created.status).toBe(201);
    const sighting = (await created.json()) as { photos: Array<{ urls: Record<string, string> }> };
    const urls = Object.values(sighting.photos[0]!.urls);
    expect(urls).toHaveLength(3);
    for (const url of urls) {
      // The default MEDIA_PUBLIC_URL is this node's own /media route, on the port it listens on.
      expect(url.startsWith(`http://localhost:${node.port}/media/photos/${photo.id}/`)).toBe(true);
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/webp');
      const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
      expect(meta.exif).toBeUndefined();
    }
    expect(await node.stop()).toBe(0);
  });

  it('refuses to start on a bad setting, naming the variable', async () => {
    const bad = await runNodeToExit({ ...env, PORT: 'eighty' });
    expect(bad.code).toBe(1);
    expect(bad.output).toMatch(/PORT: /);
    const prod = await runNodeToExit({ ...env, NODE_ENV: 'production', JWT_SECRET: '' });
    expect(prod.code).toBe(1);
    expect(prod.output).toMatch(/JWT_SECRET: required when NODE_ENV=production/);
    // A workers node serves no /media: where photos are has to be said.
    const workers = await runNodeToExit({ ...env, ROLES: 'workers' });
    expect(workers.code).toBe(1);
    expect(workers.output).toMatch(/MEDIA_PUBLIC_URL: required when ROLES has no server/);
  });
});
