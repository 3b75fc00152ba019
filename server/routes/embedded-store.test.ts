import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../core/config.ts';
import { localSigningCredentials, startEmbeddedStore } from '../../core/embedded-store.ts';
import { connectRedis } from '../../core/redis.ts';
import { originalKey, variantKey } from '../../domain/photos/processing.ts';
import { type RunningNode, startNode } from '../../node.ts';
import { type SignedUpUser, signup } from '../../test/helpers/builders.ts';
import {
  type ApiResponse,
  createTestDatabase,
  deleteRedisPrefix,
  type RequestOptions,
  type TestContext,
} from '../../test/helpers/context.ts';
import { baseTestEnv } from '../../test/helpers/env.ts';
import { phoneJpeg } from '../../test/helpers/images.ts';

/**
 * The embedded store as a newcomer runs it (no S3_ENDPOINT): a real node on a real port,
 * every client request going through that port.
 */
let node: RunningNode | undefined;
let env: Record<string, string> = {};
let dataDir = '';
let drop: (() => Promise<void>) | undefined;
let base = '';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function start(): Promise<RunningNode> {
  const config = loadConfig(env);
  const started = await startNode(config);
  await connectRedis(started.deps.redis).catch(() => {});
  return started;
}

beforeAll(async () => {
  const db = await createTestDatabase('store');
  drop = db.drop;
  dataDir = mkdtempSync(path.join(tmpdir(), 'unimal-test-store-'));
  const port = await freePort();
  env = {
    ...baseTestEnv(),
    DATABASE_URL: db.url,
    REDIS_PREFIX: `test:${inject('runId')}:${randomBytes(4).toString('hex')}:`,
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    ROLES: 'server',
  };
  base = `http://localhost:${port}`;
  node = await start();
});

afterAll(async () => {
  await node?.stop();
  if (env.REDIS_PREFIX) await deleteRedisPrefix(env.REDIS_PREFIX);
  await drop?.();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function call<T = any>(
  method: string,
  p: string,
  options: RequestOptions = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const res = await fetch(`${base}${p}`, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await res.text();
  const json = res.headers.get('content-type')?.includes('json') && text;
  return { status: res.status, headers: res.headers, body: json ? JSON.parse(text) : text, text };
}

const ctx = { request: call } as unknown as TestContext;

async function ticket(user: SignedUpUser, contentType: string, size: number) {
  const res = await call('POST', '/api/v1/photos/uploads', {
    token: user.accessToken,
    body: { contentType, size },
  });
  expect(res.status).toBe(201);
  return res.body as {
    photoId: string;
    uploadUrl: string;
    headers: Record<string, string>;
  };
}

/** PUTs with Node's own HTTP client, so Content-Length is exactly what the test says. */
async function put(
  url: string,
  body: Buffer,
  headers: Record<string, string>,
  method = 'PUT',
): Promise<{ status: number; text: string }> {
  const res = await fetch(url, {
    method,
    headers,
    ...(method === 'GET' || method === 'HEAD' ? {} : { body: new Uint8Array(body) }),
  });
  return { status: res.status, text: await res.text() };
}

/**
 * A PUT over a raw socket: headers announcing `length` bytes, then only what the test
 * writes, so it can stop (or cut the connection) mid-body.
 */
function rawPut(url: string, headers: Record<string, string>, length: number) {
  const u = new URL(url);
  const socket = net.connect(Number(u.port), '127.0.0.1');
  socket.on('error', () => {});
  let response = '';
  socket.on('data', (d) => {
    response += d.toString('latin1');
  });
  const closed = new Promise<string>((resolve) => socket.on('close', () => resolve(response)));
  socket.write(
    `PUT ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\n` +
      `Content-Type: ${headers['content-type']}\r\nContent-Length: ${length}\r\n` +
      'Connection: close\r\n\r\n',
  );
  return { socket, closed };
}

/** Watches the node's `storage.put`: resolves `started` on the first call, records how each ends. */
function watchPut() {
  const storage = node!.deps.storage;
  const original = storage.put;
  const settled: Array<Promise<'resolved' | 'rejected'>> = [];
  let onStart: () => void = () => {};
  const started = new Promise<void>((resolve) => {
    onStart = resolve;
  });
  storage.put = (...args) => {
    const p = original.apply(storage, args);
    settled.push(
      p.then(
        () => 'resolved' as const,
        () => 'rejected' as const,
      ),
    );
    onStart();
    return p;
  };
  return { started, settled, restore: () => (storage.put = original) };
}

const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([
    p,
    new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), ms).unref()),
  ]);

describe('the embedded store', () => {
  it('listens on no TCP port of its own: the app port is the only one', () => {
    const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
    const tcpPorts = handles
      .filter(
        (h): h is Server =>
          h instanceof Server || (h as { listening?: boolean }).listening === true,
      )
      .map((h) => (h as Server).address())
      .filter((a): a is AddressInfo => typeof a === 'object' && a !== null)
      .map((a) => a.port);
    expect(tcpPorts).toEqual([node!.port]);
  });

  it('refuses unsigned list, get, put and delete through the app port', async () => {
    const user = await signup(ctx);
    const bytes = await phoneJpeg();
    const t = await ticket(user, 'image/jpeg', bytes.length);
    const bucket = node!.deps.storage.bucket;
    const key = originalKey(t.photoId);
    // A real original sits in the store.
    expect((await put(t.uploadUrl, bytes, t.headers)).status).toBe(200);
    const attempts: Array<[string, string]> = [
      ['GET', `/storage/${bucket}`],
      ['GET', `/storage/${bucket}/`],
      ['GET', `/storage/${bucket}?list-type=2`],
      ['GET', '/storage/'],
      ['GET', `/storage/${bucket}/${key}`],
      ['HEAD', `/storage/${bucket}/${key}`],
      ['PUT', `/storage/${bucket}/${key}`],
      ['PUT', `/storage/${bucket}/${variantKey(t.photoId, 'large')}`],
      ['DELETE', `/storage/${bucket}/${key}`],
      ['POST', `/storage/${bucket}?delete`],
    ];
    for (const [method, p] of attempts) {
      const res = await put(
        `${base}${p}`,
        Buffer.from('<html>x</html>'),
        {
          'content-type': 'text/html',
        },
        method,
      );
      expect(res.status, `${method} ${p}`).toBe(403);
      if (method !== 'HEAD')
        expect(res.text, `${method} ${p}`).toMatch(/<Code>AccessDenied<\/Code>/);
    }
    // Nothing was changed, and the original is readable by nobody but the server.
    expect((await node!.deps.storage.head(key))?.length).toBe(bytes.length);
    expect(await node!.deps.storage.head(variantKey(t.photoId, 'large'))).toBeUndefined();
    expect((await fetch(`${base}/media/${key}`)).status).toBe(404);
  });

  it('a presigned URL allows exactly its one method, key, type and size', async () => {
    const user = await signup(ctx);
    const other = await signup(ctx);
    const bytes = await phoneJpeg();
    const t = await ticket(user, 'image/jpeg', bytes.length);
    const victim = await ticket(other, 'image/jpeg', bytes.length);

    // Another user's pending upload, by editing the key.
    const edited = t.uploadUrl.replace(t.photoId, victim.photoId);
    const r1 = await put(edited, bytes, t.headers);
    expect(r1.status).toBe(403);
    expect(r1.text).toMatch(/SignatureDoesNotMatch/);
    // Another method.
    expect((await put(t.uploadUrl, bytes, t.headers, 'GET')).status).toBe(403);
    expect((await put(t.uploadUrl, bytes, t.headers, 'DELETE')).status).toBe(403);
    // Another content type (same size).
    const html = await put(t.uploadUrl, bytes, { 'content-type': 'text/html' });
    expect(html.status).toBe(403);
    expect(html.text).toMatch(/SignatureDoesNotMatch/);
    const png = await put(t.uploadUrl, bytes, { 'content-type': 'image/png' });
    expect(png.status).toBe(403);
    // Another size.
    const longer = Buffer.concat([bytes, Buffer.alloc(10)]);
    expect((await put(t.uploadUrl, longer, { 'content-type': 'image/jpeg' })).status).toBe(403);
    expect(
      (await put(t.uploadUrl, bytes.subarray(1), { 'content-type': 'image/jpeg' })).status,
    ).toBe(403);
    // No Content-Length at all (a chunked body).
    const chunked = await fetch(t.uploadUrl, {
      method: 'PUT',
      headers: { 'content-type': 'image/jpeg' },
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(new Uint8Array(bytes));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(411);
    // A longer lifetime.
    const extended = new URL(t.uploadUrl);
    extended.searchParams.set('X-Amz-Expires', '604800');
    expect((await put(extended.toString(), bytes, t.headers)).status).toBe(403);
    // Without its signature.
    const unsigned = new URL(t.uploadUrl);
    unsigned.searchParams.delete('X-Amz-Signature');
    expect((await put(unsigned.toString(), bytes, t.headers)).status).toBe(403);
    for (const key of [originalKey(t.photoId), originalKey(victim.photoId)]) {
      expect(await node!.deps.storage.head(key)).toBeUndefined();
    }

    // It points at this app's own port, and signs the type and the size.
    const url = new URL(t.uploadUrl);
    expect(url.origin).toBe(base);
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;content-type;host');
    expect(t.headers).toEqual({
      'content-type': 'image/jpeg',
      'content-length': String(bytes.length),
    });

    // The URL as given works, and the photo completes.
    expect((await put(t.uploadUrl, bytes, t.headers)).status).toBe(200);
    const done = await call('POST', `/api/v1/photos/${t.photoId}/complete`, {
      token: user.accessToken,
    });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ id: t.photoId, width: 100, height: 200 });
    expect((await fetch(done.body.urls.large)).status).toBe(200);
    // Once completed, the URL is spent.
    expect((await put(t.uploadUrl, bytes, t.headers)).status).toBe(403);
  });

  it('takes a photo of exactly PHOTO_MAX_BYTES (10 MiB) through the app port', async () => {
    const user = await signup(ctx);
    const jpeg = await phoneJpeg();
    const bytes = Buffer.concat([jpeg, Buffer.alloc(10 * 1024 * 1024 - jpeg.length)]);
    const t = await ticket(user, 'image/jpeg', bytes.length);
    expect((await put(t.uploadUrl, bytes, t.headers)).status).toBe(200);
    const done = await call('POST', `/api/v1/photos/${t.photoId}/complete`, {
      token: user.accessToken,
    });
    expect(done.status).toBe(200);
  });

  it('refuses a presigned URL past its expiry', async () => {
    const user = await signup(ctx);
    const bytes = await phoneJpeg();
    const t = await ticket(user, 'image/jpeg', bytes.length);
    // Signed 5 s ago for 1 s: expired already, with no waiting.
    const short = await node!.deps.storage.presignPut(
      originalKey(t.photoId),
      'image/jpeg',
      bytes.length,
      1000,
      { signingDate: new Date(Date.now() - 5000) },
    );
    const res = await put(short, bytes, t.headers);
    expect(res.status).toBe(403);
    expect(res.text).toMatch(/expired/);
    // Re-dated to now, to look fresh again: the date is signed.
    const redated = new URL(short);
    redated.searchParams.set('X-Amz-Date', new Date().toISOString().replace(/[-:]|\.\d+/g, ''));
    const again = await put(redated.toString(), bytes, t.headers);
    expect(again.status).toBe(403);
    expect(again.text).toMatch(/SignatureDoesNotMatch/);
    expect(await node!.deps.storage.head(originalKey(t.photoId))).toBeUndefined();
  });

  it('refuses an edited X-Amz-SignedHeaders or X-Amz-Credential', async () => {
    const user = await signup(ctx);
    const bytes = await phoneJpeg();
    const t = await ticket(user, 'image/jpeg', bytes.length);
    const edits: Array<[string, (v: string) => string]> = [
      ['X-Amz-SignedHeaders', (v) => `${v};x-extra`],
      ['X-Amz-SignedHeaders', () => 'host'],
      ['X-Amz-Credential', (v) => v.replace(/^[^/]+/, 'someone-else')],
      ['X-Amz-Credential', (v) => v.replace('/s3/', '/ec2/')],
    ];
    for (const [name, edit] of edits) {
      const url = new URL(t.uploadUrl);
      url.searchParams.set(name, edit(url.searchParams.get(name)!));
      const res = await put(url.toString(), bytes, t.headers);
      const what = `${name}=${url.searchParams.get(name)}`;
      expect.soft(res.status, what).toBe(403);
      expect.soft(res.text, what).toMatch(/SignatureDoesNotMatch/);
    }
    expect(await node!.deps.storage.head(originalKey(t.photoId))).toBeUndefined();
    expect((await put(t.uploadUrl, bytes, t.headers)).status).toBe(200);
  });

  it('survives a client cutting its upload off mid-body, and drops the store request', async () => {
    const user = await signup(ctx);
    const bytes = await phoneJpeg();
    const t = await ticket(user, 'image/jpeg', bytes.length);
    const watch = watchPut();
    try {
      const cut = rawPut(t.uploadUrl, t.headers, bytes.length);
      cut.socket.write(bytes.subarray(0, bytes.length >> 1));
      await watch.started;
      await new Promise((r) => setTimeout(r, 100));
      cut.socket.destroy();
      // The write to the store ends with the client's body, not minutes later.
      expect(await within(watch.settled[0]!, 5000)).toBe('rejected');
    } finally {
      watch.restore();
    }
    // The node is still there. (s3rver may keep the half it got: complete refuses a size
    // other than the declared one, and the next whole PUT replaces it.)
    expect((await call('GET', '/healthz')).status).toBe(200);
    const half = await node!.deps.storage.head(originalKey(t.photoId));
    expect(half?.length ?? 0).toBeLessThan(bytes.length);
    // The same URL, sent whole, works; so does another photo's.
    expect((await put(t.uploadUrl, bytes, t.headers)).status).toBe(200);
    expect((await node!.deps.storage.head(originalKey(t.photoId)))?.length).toBe(bytes.length);
    const other = await ticket(user, 'image/jpeg', bytes.length);
    expect((await put(other.uploadUrl, bytes, other.headers)).status).toBe(200);
    const done = await call('POST', `/api/v1/photos/${t.photoId}/complete`, {
      token: user.accessToken,
    });
    expect(done.status).toBe(200);
  });

  it('an upload finishing after its photo went is refused and its object queued for removal', async () => {
    const user = await signup(ctx);
    const bytes = await phoneJpeg();
    const t = await ticket(user, 'image/jpeg', bytes.length);
    const key = originalKey(t.photoId);
    const watch = watchPut();
    let answer: string;
    try {
      const late = rawPut(t.uploadUrl, t.headers, bytes.length);
      late.socket.write(bytes.subarray(0, bytes.length >> 1));
      await watch.started;
      // Checked pending before the write; gone while the body comes in.
      await node!.deps.sql`delete from photos where id = ${t.photoId}`;
      late.socket.write(bytes.subarray(bytes.length >> 1));
      answer = await late.closed;
    } finally {
      watch.restore();
    }
    expect(answer).toMatch(/^HTTP\/1\.1 403/);
    expect(answer).toMatch(/AccessDenied/);
    const queued = await node!.deps.sql`select key from storage_deletions where key = ${key}`;
    expect(queued).toHaveLength(1);
  });

  it('a store failure during an upload is a 503, not the client IncompleteBody', async () => {
    const user = await signup(ctx);
    const bytes = await phoneJpeg();
    const t = await ticket(user, 'image/jpeg', bytes.length);
    const storage = node!.deps.storage;
    const original = storage.put;
    storage.put = async () => {
      throw Object.assign(new Error('store down'), { $metadata: { httpStatusCode: 503 } });
    };
    let res: { status: number; text: string };
    try {
      res = await put(t.uploadUrl, bytes, t.headers);
    } finally {
      storage.put = original;
    }
    expect(res.status).toBe(503);
    expect(res.text).toMatch(/<Code>ServiceUnavailable<\/Code>/);
  });

  it('keeps presigned URLs valid across a restart (same DATA_DIR and port)', async () => {
    const user = await signup(ctx);
    const bytes = await phoneJpeg();
    const t = await ticket(user, 'image/jpeg', bytes.length);
    await node!.stop();
    node = undefined;
    node = await start();
    expect((await put(t.uploadUrl, bytes, t.headers)).status).toBe(200);
    const done = await call('POST', `/api/v1/photos/${t.photoId}/complete`, {
      token: user.accessToken,
    });
    expect(done.status).toBe(200);
  });
});

describe('the embedded store signing secret', () => {
  it('is generated once, whole, and kept', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'unimal-test-secret-'));
    try {
      const first = localSigningCredentials(dir);
      expect(first.secretAccessKey.length).toBeGreaterThanOrEqual(32);
      expect(localSigningCredentials(dir)).toEqual(first);
      expect(readFileSync(path.join(dir, 's3-signing-secret'), 'utf8').trim()).toBe(
        first.secretAccessKey,
      );
      // No temporary file left behind.
      expect(readdirSync(dir)).toEqual(['s3-signing-secret']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a secret file too short (or empty) stops the start with a clear error', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'unimal-test-secret-'));
    try {
      for (const content of ['', '\n', 'short-secret\n']) {
        writeFileSync(path.join(dir, 's3-signing-secret'), content);
        await expect(
          startEmbeddedStore({ directory: path.join(dir, 's3'), dataDir: dir }),
        ).rejects.toThrow(/s3-signing-secret.*at least 32/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
