import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Parser } from '@asyncapi/parser';
import { Ajv } from 'ajv';
import type { Socket } from 'socket.io-client';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { signAccessToken } from '../../domain/auth/tokens.ts';
import type { RunningNode } from '../../node.ts';
import { CLIENT_EXAMPLE } from '../../server/routes/docs-realtime.ts';
import { type HttpApi, httpApi } from '../../test/helpers/http.ts';
import { connectRawSocket, nodeUrl, useInProcessNodes } from '../../test/helpers/realtime.ts';
import {
  ackSchemaOf,
  CLIENT_EVENT_NAMES,
  type ClientEvent,
  channelId,
  SERVER_EVENT_NAMES,
  type ServerEvent,
} from './asyncapi.ts';
import { CLIENT_EVENTS, SERVER_EVENTS } from './asyncapi-events.ts';

// The document is plain JSON, walked by hand.
type Json = any;

const cluster = useInProcessNodes();
let node: RunningNode;
let api: HttpApi;
let doc: Json;

beforeAll(async () => {
  node = await cluster.start('server,gateway,workers');
  api = httpApi(nodeUrl(node));
  const res = await fetch(`${nodeUrl(node)}/api/v1/asyncapi.json`);
  expect(res.status).toBe(200);
  doc = await res.json();
});

/** The names an interface of contract/realtime.ts declares, read from its source. */
function eventMapKeys(name: 'ClientToServerEvents' | 'ServerToClientEvents'): string[] {
  const file = fileURLToPath(new URL('../../contract/realtime.ts', import.meta.url));
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
  const map = source.statements.find(
    (s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === name,
  );
  if (!map) throw new Error(`no interface ${name} in contract/realtime.ts`);
  return map.members.map((m) => (m.name && 'text' in m.name ? m.name.text : String(m.name)));
}

/** An event's message in the document, and its ack's when it has one. */
const messageOf = (event: string) => {
  const id = channelId(event);
  return doc.channels[id].messages[id];
};
const ackMessageOf = (event: ClientEvent) => {
  const id = channelId(event);
  return doc.channels[id].messages[`${id}Ack`];
};

/** zod as JSON Schema, as the document states it (draft-07, no `$schema`). */
function zodJsonSchema(schema: z.ZodType, io: 'input' | 'output'): Json {
  const { $schema: _, ...json } = z.toJSONSchema(schema, { target: 'draft-07', io });
  return json;
}

/** A schema with every `additionalProperties: false` taken out. */
function opened(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(opened);
  if (schema === null || typeof schema !== 'object') return schema;
  return Object.fromEntries(
    Object.entries(schema)
      .filter(([key, value]) => !(key === 'additionalProperties' && value === false))
      .map(([key, value]) => [key, opened(value)]),
  );
}

const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
/** Checks a real payload against the document's own schema for it. */
function expectValid(schema: Json, value: unknown, what: string) {
  const validate = ajv.compile(schema);
  expect(validate(value), `${what}: ${ajv.errorsText(validate.errors)}`).toBe(true);
}

describe('the AsyncAPI document', () => {
  it('is a valid AsyncAPI 3.0 document', async () => {
    const { document, diagnostics } = await new Parser().parse(JSON.stringify(doc));
    const errors = diagnostics.filter((d) => d.severity === 0);
    expect(errors.map((d) => `${d.path.join('/')}: ${d.message}`)).toEqual([]);
    expect(document?.version()).toBe('3.0.0');
    const server = document!.servers().get('gateway')!;
    expect([server.protocol(), server.pathname()]).toEqual(['ws', '/socket.io']);
    // Every send operation is answered: its reply is the ack.
    for (const op of document!.operations().filterBySend()) {
      expect(op.reply()?.messages().length, op.id()).toBe(1);
    }
  });

  it('is served as a cacheable document', async () => {
    const url = `${nodeUrl(node)}/api/v1/asyncapi.json`;
    const res = await fetch(url);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('cache-control')).toBe('public, max-age=300');
    const tag = res.headers.get('etag');
    expect(tag).toMatch(/^"[^"]+"$/);
    const again = await fetch(url, { headers: { 'if-none-match': tag! } });
    expect(again.status).toBe(304);
    expect(again.headers.get('cache-control')).toBe('public, max-age=300');
    // So is the OpenAPI document beside it.
    const openapi = await fetch(`${nodeUrl(node)}/api/v1/openapi.json`);
    expect(openapi.headers.get('cache-control')).toBe('public, max-age=300');
    expect(openapi.headers.get('etag')).toBeTruthy();
  });

  it("has every event of the contract's event maps, both ways, and no other", () => {
    const byAction = (action: string) =>
      Object.values(doc.operations as Record<string, Json>)
        .filter((op) => op.action === action)
        .map((op) => messageOf(op.title).name)
        .sort();
    expect(byAction('send')).toEqual(eventMapKeys('ClientToServerEvents').sort());
    expect(byAction('receive')).toEqual(eventMapKeys('ServerToClientEvents').sort());
    for (const [id, channel] of Object.entries(doc.channels as Record<string, Json>)) {
      expect(id).toBe(channelId(channel.address));
    }
  });

  it('states each payload as z.toJSONSchema of its contract schema', () => {
    for (const event of CLIENT_EVENT_NAMES) {
      // What clients send, exactly as zod reads it.
      expect(messageOf(event).payload, event).toEqual(
        zodJsonSchema(CLIENT_EVENTS[event].payload, 'input'),
      );
      const ack = ackMessageOf(event);
      expect(opened(ack.payload), `${event} ack`).toEqual(
        opened(zodJsonSchema(ackSchemaOf(event), 'output')),
      );
      const codes = ack.payload.anyOf[1].properties.error.properties.code.enum;
      expect(codes).toEqual(Object.keys(CLIENT_EVENTS[event].errors));
      expect(Object.keys(ack['x-errors'])).toEqual(codes);
      // Its data is the result schema's.
      expect(opened(ack.payload.anyOf[0].properties.data), `${event} ack`).toEqual(
        opened(zodJsonSchema(CLIENT_EVENTS[event].result, 'output')),
      );
    }
    for (const event of SERVER_EVENT_NAMES) {
      const { payload } = SERVER_EVENTS[event];
      const stated = messageOf(event).payload;
      if (payload === null) expect(stated, event).toBeUndefined();
      else expect(opened(stated), event).toEqual(opened(zodJsonSchema(payload, 'output')));
    }
    // What the server sends is left open to new fields; what the contract closes stays closed.
    const notification = messageOf('notification').payload;
    expect(notification.properties.actor.anyOf[0]).not.toHaveProperty('additionalProperties');
    expect(notification).not.toHaveProperty('additionalProperties');
    expect(ackMessageOf('map:unsubscribe').payload.anyOf[0].properties.data).toMatchObject({
      additionalProperties: false,
    });
    // The map's bbox is a transform; what a client sends is its input: text or four numbers.
    expect(messageOf('map:subscribe').payload.properties.bbox.anyOf).toEqual([
      { type: 'string', maxLength: 200 },
      expect.objectContaining({ type: 'array', minItems: 4, maxItems: 4 }),
    ]);
  });
});

/** Records what a socket is pushed, and waits for a push that matches. */
function recordPushes(socket: Socket) {
  const pushed: Array<{ event: string; args: unknown[] }> = [];
  const waiters: Array<() => void> = [];
  socket.onAny((event: string, ...args: unknown[]) => {
    pushed.push({ event, args });
    for (const wake of waiters.splice(0)) wake();
  });
  return async (event: ServerEvent, match: (payload: Json) => boolean = () => true) => {
    for (;;) {
      const found = pushed.find((p) => p.event === event && match(p.args[0]));
      if (found) return found.args;
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
}

describe('a real gateway', () => {
  it('answers and pushes what the document says', async () => {
    const viewer = await api.signup();
    const author = await api.signup();
    const { socket, outcome } = connectRawSocket(nodeUrl(node), { token: viewer.accessToken });
    expect(await outcome).toBe('connected');
    const pushed = recordPushes(socket);
    const send = (event: string, payload?: unknown) =>
      socket.timeout(15_000).emitWithAck(event, payload);
    const expectAck = (event: ClientEvent, ack: unknown) => {
      expectValid(ackMessageOf(event).payload, ack, `${event} ack`);
      expect(ackSchemaOf(event).safeParse(ack).error, `${event} ack`).toBeUndefined();
    };

    const answers: Array<[ClientEvent, unknown]> = [
      ['notifications:sync', await send('notifications:sync', {})],
      ['map:subscribe', await send('map:subscribe', { bbox: '-9.20,38.69,-9.10,38.76', zoom: 12 })],
      ['auth:renew', await send('auth:renew', { token: viewer.accessToken })],
    ];
    for (const [event, ack] of answers) {
      expect(ack, event).toHaveProperty('data');
      expectAck(event, ack);
    }

    await api.follow(author, viewer);
    const inside = await api.post(author, { location: { lat: 38.72, lng: -9.15 } });
    const [notification] = await pushed('notification', (n) => n.type === 'follow');
    expectValid(messageOf('notification').payload, notification, 'notification');
    const [sighting] = await pushed('map:sighting', (s) => s.post.id === inside.id);
    expectValid(messageOf('map:sighting').payload, sighting, 'map:sighting');
    await api.call('DELETE', `/posts/${inside.id}`, author.accessToken);
    const [retraction] = await pushed('map:retract', (r) => r.postId === inside.id);
    expectValid(messageOf('map:retract').payload, retraction, 'map:retract');

    // A synced notification, now that there is one.
    const synced = await send('notifications:sync', {});
    expect(synced.data.items.length).toBeGreaterThan(0);
    expectAck('notifications:sync', synced);
    const left = await send('map:unsubscribe');
    expect(left).toEqual({ data: {} });
    expectAck('map:unsubscribe', left);
    socket.close();
  });

  it('answers each error with a code the document lists for the event', async () => {
    const viewer = await api.signup();
    const { socket, outcome } = connectRawSocket(nodeUrl(node), { token: viewer.accessToken });
    expect(await outcome).toBe('connected');
    const send = (event: string, payload?: unknown) =>
      socket.timeout(15_000).emitWithAck(event, payload);
    const refused: Array<[ClientEvent, unknown, string]> = [
      ['notifications:sync', { after: 'latest' }, 'validation_failed'],
      ['map:subscribe', { bbox: '0,0,1,1', zoom: 'far' }, 'validation_failed'],
      ['map:subscribe', { bbox: [1, 2, 3], zoom: 3 }, 'validation_failed'],
      ['auth:renew', { token: 'not-a-token' }, 'unauthorized'],
    ];
    for (const [event, payload, code] of refused) {
      const ack = await send(event, payload);
      expect(ack, event).toMatchObject({ error: { code } });
      expectValid(ackMessageOf(event).payload, ack, `${event} ack`);
    }
    // An event the document does not list is unknown to the gateway too.
    expect(await send('map:zoom', {})).toMatchObject({ error: { code: 'not_found' } });
    socket.close();
  });

  it('pushes auth:expiring as the document says when a token runs out', async () => {
    const viewer = await api.signup();
    const { sid } = JSON.parse(
      Buffer.from(viewer.accessToken.split('.')[1]!, 'base64url').toString(),
    );
    const short = await signAccessToken(
      { userId: viewer.id, sessionId: sid },
      node.deps.config.jwtSecret,
      3_000,
    );
    const { socket, outcome } = connectRawSocket(nodeUrl(node), { token: short });
    const expiring = new Promise<unknown>((resolve) => socket.once('auth:expiring', resolve));
    expect(await outcome).toBe('connected');
    const info = await expiring;
    expectValid(messageOf('auth:expiring').payload, info, 'auth:expiring');
    expect(SERVER_EVENTS['auth:expiring'].payload.parse(info)).toEqual(info);
    socket.close();
  });
});

describe("the reference page's client example", () => {
  it('runs as printed: syncs, subscribes, hears pushes and outlives its first token by renewing', {
    timeout: 60_000,
  }, async () => {
    // Tokens that last 4 s: the example renews at 80% of their life.
    const shortLived = await cluster.start('server,gateway', { ACCESS_TOKEN_TTL: '4s' });
    const me = await httpApi(nodeUrl(shortLived)).signup();
    const friend = await api.signup();
    const root = fileURLToPath(new URL('../../.data/', import.meta.url));
    mkdirSync(root, { recursive: true });
    // Inside the checkout, so that `socket.io-client` resolves from its node_modules.
    const dir = mkdtempSync(path.join(root, 'client-example-'));
    const script = CLIENT_EXAMPLE.replace(
      /^const API = .*$/m,
      `const API = '${nodeUrl(shortLived)}';`,
    )
      .replace(/^const EMAIL = .*$/m, `const EMAIL = '${me.input.email}';`)
      .replace(/^const PASSWORD = .*$/m, `const PASSWORD = '${me.input.password}';`);
    expect(script).not.toContain('ada@example.com');
    writeFileSync(path.join(dir, 'client.mjs'), script);
    const child = spawn(process.execPath, ['client.mjs'], { cwd: dir, stdio: 'pipe' });
    const lines: string[] = [];
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const waiters: Array<() => void> = [];
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      for (const wake of waiters.splice(0)) wake();
    });
    /** Resolves once `count` lines that match have been printed. */
    const printed = async (match: RegExp | string, count = 1) => {
      const test = (line: string) =>
        typeof match === 'string' ? line === match : match.test(line);
      while (lines.filter(test).length < count) {
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    };
    try {
      await printed(/^watching \d+ cells$/);
      await api.follow(friend, me);
      await printed(`notification: follow by @${friend.input.handle}`);
      const first = await api.post(friend, { location: { lat: 38.72, lng: -9.15 } });
      await printed(`sighting: ${first.id}`);
      // Twice renewed: past the first token's expiry, on the same socket.
      await printed(/^renewed until /, 2);
      const second = await api.post(friend, { location: { lat: 38.73, lng: -9.16 } });
      await printed(`sighting: ${second.id}`);
      expect(lines.filter((l) => l.startsWith('token expired'))).toEqual([]);
      expect(stderr).toBe('');
    } finally {
      child.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
