import { describe, expect, it } from 'vitest';
import { nodeUrl, useInProcessNodes } from './helpers/realtime.ts';

// Over real sockets: what a client's connection pool sees around a refused request.
const cluster = useInProcessNodes();

describe('an oversized body over a real connection', () => {
  it('is refused with 413, and the next request on the same client succeeds', async () => {
    const node = await cluster.start('server');
    const base = `${nodeUrl(node)}/api/v1`;
    for (let round = 0; round < 5; round++) {
      const big = await fetch(`${base}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'a@b.co', password: 'x'.repeat(3 * 1024 * 1024) }),
      });
      expect(big.status).toBe(413);
      expect(((await big.json()) as { error: { code: string } }).error.code).toBe(
        'payload_too_large',
      );
      const next = await fetch(`${base}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'nobody@example.com', password: 'whatever-1' }),
      });
      expect(next.status).toBe(401);
    }
  });
});
