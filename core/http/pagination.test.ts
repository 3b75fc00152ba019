import { z } from '@hono/zod-openapi';
import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.ts';
import { decodeCursor, encodeCursor, PageQuery, page } from './pagination.ts';

const Cursor = z.object({ at: z.string(), id: z.string() });

describe('cursors', () => {
  it('round-trip through an opaque, URL-safe string', () => {
    const value = { at: '2026-01-01T00:00:00.000Z', id: 'ü/+=?&' };
    const cursor = encodeCursor(value);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor, Cursor)).toEqual(value);
  });

  it('is undefined when none was sent', () => {
    expect(decodeCursor(undefined, Cursor)).toBeUndefined();
  });

  it('refuses garbage, non-JSON and JSON of the wrong shape as a validation error on the cursor', () => {
    for (const bad of [
      '',
      'zzz',
      '!!!',
      Buffer.from('not json').toString('base64url'),
      encodeCursor({ at: 1, id: 'x' }),
      encodeCursor(null),
      encodeCursor([]),
    ]) {
      let error: unknown;
      try {
        decodeCursor(bad, Cursor);
      } catch (err) {
        error = err;
      }
      expect(error, JSON.stringify(bad)).toBeInstanceOf(AppError);
      expect(error).toMatchObject({
        code: 'validation_failed',
        details: { in: 'query', fields: [{ field: 'cursor', message: 'invalid cursor' }] },
      });
    }
  });
});

describe('page', () => {
  const rows = [1, 2, 3, 4].map((n) => ({ n, at: `t${n}` }));
  const build = (r: typeof rows, limit: number) =>
    page(
      r,
      limit,
      (row) => row.n,
      (row) => ({ at: row.at, id: String(row.n) }),
    );

  it('keeps `limit` rows and points the cursor after the last one kept when there is more', () => {
    const result = build(rows, 3);
    expect(result.items).toEqual([1, 2, 3]);
    expect(decodeCursor(result.nextCursor!, Cursor)).toEqual({ at: 't3', id: '3' });
  });

  it('has no cursor on the last page, full or not, nor on an empty one', () => {
    expect(build(rows, 4)).toEqual({ items: [1, 2, 3, 4], nextCursor: null });
    expect(build(rows.slice(0, 2), 4)).toEqual({ items: [1, 2], nextCursor: null });
    expect(build([], 4)).toEqual({ items: [], nextCursor: null });
  });
});

describe('PageQuery', () => {
  it('defaults the limit to 20 and reads it from the query string', () => {
    expect(PageQuery.parse({})).toEqual({ limit: 20 });
    expect(PageQuery.parse({ limit: '100', cursor: 'abc' })).toEqual({ limit: 100, cursor: 'abc' });
  });

  it('refuses limits outside 1..100, fractions, and over-long cursors', () => {
    for (const query of [
      { limit: '0' },
      { limit: '101' },
      { limit: '2.5' },
      { limit: 'ten' },
      { cursor: 'x'.repeat(501) },
    ]) {
      expect(PageQuery.safeParse(query).success, JSON.stringify(query)).toBe(false);
    }
  });
});
