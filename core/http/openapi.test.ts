import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestContext } from '../../test/helpers/context.ts';

const ctx = useTestContext();

// The document is plain JSON, walked by hand.
type Json = any;

let doc: Json;

beforeAll(async () => {
  const res = await ctx.request('GET', '/api/v1/openapi.json');
  expect(res.status).toBe(200);
  doc = res.body;
});

/** Every object in the document with a string `pattern`, with where it is. */
function patterns(node: Json, at = '#'): { at: string; pattern: string }[] {
  if (node === null || typeof node !== 'object') return [];
  const own = typeof node.pattern === 'string' ? [{ at, pattern: node.pattern as string }] : [];
  return own.concat(
    Object.entries(node).flatMap(([key, value]) => patterns(value, `${at}/${key}`)),
  );
}

function operations(): { name: string; op: Json }[] {
  return Object.entries(doc.paths as Record<string, Json>).flatMap(([path, item]) =>
    Object.entries(item as Record<string, Json>).map(([method, op]) => ({
      name: `${method.toUpperCase()} ${path}`,
      op,
    })),
  );
}

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc));
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('has examples that its own schemas accept (JSON Schema 2020-12)', () => {
    // The structural validator above treats Schema Objects as opaque; this compiles them.
    const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
    ajv.addSchema(doc, 'openapi.json');
    const pointer = (tokens: string[]) =>
      `#${tokens.map((t) => `/${encodeURIComponent(t.replaceAll('~', '~0').replaceAll('/', '~1'))}`).join('')}`;
    const rejected: string[] = [];
    let checked = 0;
    const walk = (node: Json, tokens: string[]) => {
      if (node === null || typeof node !== 'object') return;
      if (!Array.isArray(node) && 'example' in node) {
        // A media type's example is of its `schema`; a schema's example is of itself.
        const target = 'schema' in node && !('type' in node) ? [...tokens, 'schema'] : tokens;
        const validate = ajv.getSchema(`openapi.json${pointer(target)}`);
        if (!validate) throw new Error(`no schema at ${pointer(target)}`);
        checked++;
        if (!validate(node.example)) {
          rejected.push(`${pointer(tokens)}: ${ajv.errorsText(validate.errors)}`);
        }
      }
      for (const [key, value] of Object.entries(node)) {
        if (key !== 'example') walk(value, [...tokens, key]);
      }
    };
    walk(doc.paths, ['paths']);
    walk(doc.components, ['components']);
    expect(rejected).toEqual([]);
    expect(checked).toBeGreaterThan(50);
  });

  // Free-text fields and the whitespace each allows (see core/text.ts).
  const TEXT_FIELDS: Record<string, string> = {
    displayName: '',
    email: '',
    clientId: '',
    bio: '\n',
    body: '\n\t',
    species: '\n\t',
  };
  const VALID = [
    'Ada',
    'Cats 🐈‍⬛ of Tehran',
    'گربه‌های تهران', // Persian, with a zero-width non-joiner (U+200C)
    'ada.lovelace+cats@example.com',
    'שלום\u200F עולם', // a right-to-left mark is fine
    '🏴󠁧󠁢󠁳󠁣󠁴󠁿', // a flag made of tag characters
    '',
  ];
  const INVALID = [
    'a\u0000b', // NUL
    'bell\u0007',
    'next\u0085line', // a C1 control
    'del\u007F',
    'invoice\u202Egnp.exe', // right-to-left override
    '\u2066isolated\u2069',
    '\uFEFFbom',
  ];

  it('publishes patterns that match the text the server accepts (ECMA-262, unicode)', () => {
    const found = patterns(doc);
    for (const { at, pattern } of found) {
      expect(() => new RegExp(pattern, 'u'), at).not.toThrow();
    }
    const text = found.filter(({ at }) => (at.split('/').pop() ?? '') in TEXT_FIELDS);
    // displayName ×2, email, bio, body ×3, species ×2, clientId
    expect(text.length).toBeGreaterThanOrEqual(10);
    for (const { at, pattern } of text) {
      const re = new RegExp(pattern, 'u');
      const allow = TEXT_FIELDS[at.split('/').pop() as string] as string;
      for (const sample of VALID)
        expect(re.test(sample), `${at} ~ ${JSON.stringify(sample)}`).toBe(true);
      for (const sample of INVALID) {
        expect(re.test(sample), `${at} !~ ${JSON.stringify(sample)}`).toBe(false);
      }
      expect(re.test('two\nlines'), `${at}: newline`).toBe(allow.includes('\n'));
      expect(re.test('a\ttab'), `${at}: tab`).toBe(allow.includes('\t'));
      expect(re.test('carriage\rreturn'), `${at}: CR`).toBe(false);
    }
    const handle = found.find(({ at }) => at.endsWith('/SignupRequest/properties/handle'));
    expect(handle).toBeDefined();
    const handleRe = new RegExp(handle?.pattern as string, 'u');
    expect(handleRe.test('cat_spotter')).toBe(true);
    expect(handleRe.test('x')).toBe(false);
  });

  it('marks the required query parameters required, and none nullable', () => {
    const query = (path: string) =>
      Object.fromEntries(
        (doc.paths[path].get.parameters as Json[])
          .filter((p) => p.in === 'query')
          .map((p) => [p.name, p]),
      );
    const nearby = query('/posts/nearby');
    expect(nearby.lat.required).toBe(true);
    expect(nearby.lng.required).toBe(true);
    expect(nearby.radiusKm.required).toBe(false);
    expect(nearby.kind.required).toBe(false);
    expect(nearby.limit.required).toBe(false);
    const cells = query('/map/cells');
    expect(cells.bbox.required).toBe(true);
    expect(cells.zoom.required).toBe(true);
    expect(cells.kind.required).toBe(false);
    expect(nearby.lat.schema).toEqual({ type: 'number', minimum: -90, maximum: 90 });
    expect(cells.zoom.schema).toEqual({ type: 'number', minimum: 0, maximum: 24 });
    // A query value is text or absent, never null.
    for (const { name, op } of operations()) {
      for (const p of (op.parameters ?? []) as Json[]) {
        if (p.in !== 'query') continue;
        expect([p.schema.type].flat(), `${name} ?${p.name}`).not.toContain('null');
      }
    }
  });

  it('gives each error response an example with the code of its status', () => {
    const CODES: Record<string, string> = {
      400: 'validation_failed',
      401: 'unauthorized',
      403: 'forbidden',
      404: 'not_found',
      409: 'conflict',
      413: 'payload_too_large',
      415: 'unsupported_media_type',
      429: 'rate_limited',
      500: 'internal',
      503: 'unavailable',
    };
    const seen = new Set<string>();
    for (const { name, op } of operations()) {
      for (const [status, response] of Object.entries(op.responses as Record<string, Json>)) {
        if (Number(status) < 400) continue;
        const media = response.content?.['application/json'];
        expect(media?.schema, `${name} ${status}`).toEqual({ $ref: '#/components/schemas/Error' });
        expect(media?.example?.error?.code, `${name} ${status}`).toBe(CODES[status]);
        expect(typeof media.example.error.message, `${name} ${status}`).toBe('string');
        seen.add(status);
      }
    }
    expect([...seen].sort()).toEqual([
      '400',
      '401',
      '403',
      '404',
      '409',
      '413',
      '415',
      '429',
      '503',
    ]);
    // The shared schema no longer claims every error is a validation failure.
    expect(doc.components.schemas.Error.properties.error.properties.code.example).toBeUndefined();
  });
});
