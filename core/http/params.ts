import { z } from '@hono/zod-openapi';
import { notFound } from '../errors.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Path parameter `:id`. IDs are opaque strings to clients; one that cannot exist is simply not found. */
export const IdParam = z.object({ id: z.string().openapi({ param: { name: 'id', in: 'path' } }) });

/**
 * A number in the query string, e.g. `queryNumber(z.number().min(-90).max(90))`: read as
 * `z.coerce.number()` reads it (`Number(value)`), except that `null` stays `null`.
 * `z.coerce.number()` turns `null` into 0, and the OpenAPI generator decides `required`
 * and `nullable` by asking the schema whether it accepts `undefined` and `null`, so a
 * coerced parameter whose range holds 0 (`lat`, `lng`, `zoom`) was published as optional
 * and `[number, null]`. A query value is never `null` (it is text, an array of texts for
 * a repeated key, or missing), so every request passes or fails, with the same message,
 * exactly as with `z.coerce.number()`.
 */
export function queryNumber<T extends z.ZodNumber>(schema: T) {
  return z.preprocess((value) => (value === null ? value : Number(value)), schema);
}

export function requireId(id: string, what: string): string {
  if (!UUID.test(id)) throw notFound(what);
  return id.toLowerCase();
}

export function isId(value: string): boolean {
  return UUID.test(value);
}
