import { z } from '@hono/zod-openapi';
import { AppError } from '../errors.ts';
import { queryNumber } from './params.ts';

/** `?limit=` (default 20, max 100) and an opaque `?cursor=`, as the contract says for every list. */
export const PageQuery = z.object({
  limit: queryNumber(z.number().int().min(1).max(100)).default(20).openapi({ example: 20 }),
  cursor: z
    .string()
    .max(500)
    .optional()
    .openapi({ description: 'nextCursor of the previous page' }),
});

/** The cursor of lists ordered by a time-ordered id: the last item's id. */
export const IdCursor = z.object({ id: z.uuid() });

/** A list response schema: `{ items, nextCursor }`. */
export function listOf<T extends z.ZodType>(item: T, name: string) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() }).openapi(name);
}

/** Cursors are base64url JSON: opaque to clients, validated on the way back in. */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function decodeCursor<T extends z.ZodType>(
  cursor: string | undefined,
  schema: T,
): z.infer<T> | undefined {
  if (cursor === undefined) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    raw = undefined;
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new AppError('validation_failed', 'cursor: invalid cursor', {
      details: { in: 'query', fields: [{ field: 'cursor', message: 'invalid cursor' }] },
    });
  }
  return parsed.data;
}

/**
 * Builds a page from rows fetched with `limit + 1`: the extra row only says
 * there is more, and the cursor points after the last row returned.
 */
export function page<R, I>(
  rows: R[],
  limit: number,
  toItem: (row: R) => I,
  toCursor: (row: R) => unknown,
) {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  const last = kept.at(-1);
  return {
    items: kept.map(toItem),
    nextCursor: more && last !== undefined ? encodeCursor(toCursor(last)) : null,
  };
}
