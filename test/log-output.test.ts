import { describe, expect, it } from 'vitest';
import { buildUser } from './helpers/builders.ts';
import { phoneJpeg } from './helpers/images.ts';
import { spawnNode, useNodeScratch } from './helpers/process.ts';

const { redisPrefix, dataDir, nodes, database } = useNodeScratch('logs');

describe('log output', { timeout: 60_000 }, () => {
  it('is JSON lines only, from start through a photo upload to shutdown (no stray stderr text)', async () => {
    const db = await database();
    // The embedded store: the AWS SDK client is built and used, which is where
    // its Node.js version notice comes from.
    const node = await spawnNode({
      DATABASE_URL: db.url,
      REDIS_PREFIX: redisPrefix,
      DATA_DIR: dataDir,
    });
    nodes.push(node);
    const signup = await fetch(`${node.url}/api/v1/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(buildUser()),
    });
    const { accessToken } = (await signup.json()) as { accessToken: string };
    const form = new FormData();
    form.append(
      'file',
      new Blob([new Uint8Array(await phoneJpeg())], { type: 'image/jpeg' }),
      'a.jpg',
    );
    const uploaded = await fetch(`${node.url}/api/v1/photos`, {
      method: 'POST',
      headers: { authorization: `Bearer ${accessToken}` },
      body: form,
    });
    expect(uploaded.status).toBe(201);
    expect(await node.stop('SIGTERM')).toBe(0);
    expect(node.logs.filter((l) => 'raw' in l)).toEqual([]);
    expect(node.stderr()).toBe('');
    expect(node.logs.some((l) => l.msg === 'stopped')).toBe(true);
  });
});
