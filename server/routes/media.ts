import { Readable } from 'node:stream';
import { Hono } from 'hono';
import type { Deps } from '../../core/deps.ts';
import { notFound } from '../../core/errors.ts';
import { isId } from '../../core/http/params.ts';
import type { AppEnv } from '../../core/http/types.ts';
import { VARIANTS, type VariantName, variantKey } from '../../domain/photos/processing.ts';

/**
 * `/media/photos/<id>/<variant>.webp`: the processed variants, streamed from
 * storage. This is what MEDIA_PUBLIC_URL points at by default; with a CDN in
 * front it is the CDN's origin. Only variants are served, never an original.
 */
export function createMediaRoutes(deps: Deps) {
  const media = new Hono<AppEnv>();
  media.get('/photos/:id/:file', async (c) => {
    const id = c.req.param('id');
    const name = /^(\w+)\.webp$/.exec(c.req.param('file'))?.[1];
    if (!isId(id) || !name || !Object.hasOwn(VARIANTS, name)) throw notFound('media');
    const object = await deps.storage.get(variantKey(id.toLowerCase(), name as VariantName));
    if (!object) throw notFound('media');
    return new Response(Readable.toWeb(object.body) as ReadableStream, {
      headers: {
        'content-type': 'image/webp',
        ...(object.length === undefined ? {} : { 'content-length': String(object.length) }),
        // Keys are never reused: a photo id names one image forever.
        'cache-control': 'public, max-age=31536000, immutable',
        'x-content-type-options': 'nosniff',
      },
    });
  });
  return media;
}
