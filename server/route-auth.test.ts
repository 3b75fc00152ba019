import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { signup } from '../test/helpers/builders.ts';
import { useTestContext } from '../test/helpers/context.ts';

const ctx = useTestContext();

interface Operation {
  name: string;
  method: string;
  /** The operation's path with every parameter filled in. */
  url: string;
  secured: boolean;
}

let operations: Operation[] = [];

beforeAll(async () => {
  const res = await ctx.request('GET', '/api/v1/openapi.json');
  expect(res.status).toBe(200);
  const doc = res.body;
  const base: string = doc.servers[0].url;
  operations = Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(
    ([path, item]) =>
      Object.entries(item).map(([method, op]) => ({
        name: `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase(),
        // A well-formed id of nothing: the request gets as far as the route's own checks.
        url: base + path.replaceAll(/\{[^}]+\}/g, () => randomUUID()),
        secured: Array.isArray(op.security) && op.security.length > 0,
      })),
  );
});

describe("every route's protection", () => {
  it('is declared in the document exactly where a request without a token is refused', async () => {
    const disagreements: string[] = [];
    for (const op of operations) {
      const res = await ctx.request(op.method, op.url);
      if ((res.status === 401) !== op.secured) {
        disagreements.push(
          `${op.name}: ${op.secured ? 'declares security' : 'declares none'}, answered ${res.status}`,
        );
      }
    }
    expect(disagreements).toEqual([]);
    // The walk saw both kinds, so neither half of the check is vacuous.
    expect(operations.filter((op) => op.secured).length).toBeGreaterThan(20);
    expect(operations.filter((op) => !op.secured).length).toBeGreaterThan(0);
  });

  it('lets a valid token through on every secured route', async () => {
    const { accessToken } = await signup(ctx);
    const refused: string[] = [];
    for (const op of operations.filter((o) => o.secured)) {
      // No body and ids of nothing: the route answers 400, 404 or the like, never 401.
      const res = await ctx.request(op.method, op.url, { token: accessToken });
      if (res.status === 401) refused.push(`${op.name}: ${res.text}`);
    }
    expect(refused).toEqual([]);
  });
});
