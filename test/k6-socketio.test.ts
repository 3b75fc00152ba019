import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain JavaScript for k6, checked by its own tsconfig (loadtest/k6)
import { connectSocketIO } from '../loadtest/k6/socketio.js';
import { httpApi } from './helpers/http.ts';
import { nodeUrl, useInProcessNodes } from './helpers/realtime.ts';

// The k6 scripts speak the Socket.IO protocol by hand over k6/ws; run that code against
// a real gateway node (k6/ws itself is stood in for by test/helpers/k6-ws-shim.ts).
const cluster = useInProcessNodes();

describe('the k6 Socket.IO client', () => {
  it('connects with a token, acks an emit, receives a pushed notification, and sees refusals', async () => {
    const node = await cluster.start('server,gateway,workers');
    const api = httpApi(nodeUrl(node));
    const author = await api.signup();
    const me = await api.signup();
    await api.follow(me, author);

    let post: { id: string } | undefined;
    const seen: Array<{ event: string; payload: { postId?: string } }> = [];
    const acks: unknown[] = [];
    await connectSocketIO(nodeUrl(node), me.accessToken, {
      onConnect(client: { emit: (e: string, p: unknown, ack: (r: unknown) => void) => void }) {
        client.emit('notifications:sync', {}, async (res: unknown) => {
          acks.push(res);
          post = await api.post(author);
        });
      },
      onEvent(event: string, payload: { postId?: string }, client: { close: () => void }) {
        seen.push({ event, payload });
        // The push may arrive before the POST's response: any post notification will do
        // here; its id is checked below.
        if (event === 'notification' && payload.postId) client.close();
      },
    });
    expect(acks).toEqual([{ data: { items: [], hasMore: false } }]);
    expect(seen.some((s) => s.event === 'notification' && s.payload.postId === post!.id)).toBe(
      true,
    );

    const refusals: string[] = [];
    await connectSocketIO(nodeUrl(node), 'not-a-token', {
      onConnectError: (message: string) => refusals.push(message),
    });
    expect(refusals).toEqual(['unauthorized']);
  });
});

describe('the k6 scripts', () => {
  it('use no syntax newer than k6 v0.48 parses (its Babel refuses numeric separators and logical assignment)', () => {
    const dir = new URL('../loadtest/k6/', import.meta.url);
    const scripts = readdirSync(dir).filter((f) => f.endsWith('.js'));
    expect(scripts).toContain('fanout.js');
    for (const file of scripts) {
      // Comments aside: the code itself.
      const code = readFileSync(new URL(file, dir), 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/^\s*\/\/.*$/gm, '');
      expect(code, `${file}: numeric separator`).not.toMatch(/(?<![\w$.])\d+(?:_\d+)+/);
      expect(code, `${file}: logical assignment`).not.toMatch(/(\?\?|\|\||&&)=/);
    }
  });
});
