import { z } from '@hono/zod-openapi';
import { Geoprivacy, Location, Post, PostKind, User } from '../../contract/index.ts';
import { queryNumber } from '../../core/http/params.ts';
import { PLAIN_TEXT_MESSAGE, plainText } from '../../core/text.ts';
import { MAX_NEARBY_RADIUS_KM } from './geoprivacy.ts';

export const MAX_PHOTOS = 10;
/** Clocks of phones drift; an observation this far ahead of the server's clock still counts as now. */
const CLOCK_SKEW_MS = 5 * 60_000;

const text = (max: number) =>
  z.string().trim().max(max).regex(plainText('\n\t'), PLAIN_TEXT_MESSAGE);

export const LocationSchema = Location;

const observedAt = z.iso
  .datetime({ offset: true })
  .refine((v) => Date.parse(v) <= Date.now() + CLOCK_SKEW_MS, 'must not be in the future')
  .refine((v) => Date.parse(v) >= Date.UTC(1900, 0, 1), 'must be after 1900');

const species = text(100)
  .nullable()
  .transform((v) => (v === '' ? null : v))
  .openapi({ example: 'Felis catus' });

const photoIds = z
  .array(z.string().max(64))
  .max(MAX_PHOTOS)
  .refine((ids) => new Set(ids).size === ids.length, 'a photo can appear once')
  .openapi({
    description: `ids of the author's processed photos, at most ${MAX_PHOTOS}, in display order`,
  });

export const CreatePostBody = z
  .object({
    kind: PostKind,
    body: text(2000).openapi({ example: 'Ginger tom sunning himself on the steps again.' }),
    species: species.optional(),
    location: LocationSchema.nullable().optional(),
    geoprivacy: Geoprivacy.default('open'),
    observedAt: observedAt.optional(),
    photoIds: photoIds.default([]),
    clientId: z.string().min(1).max(100).regex(plainText(), PLAIN_TEXT_MESSAGE).optional().openapi({
      description:
        'idempotency key: a retried create with the same clientId returns the first post',
    }),
  })
  .refine((p) => p.body.length > 0 || p.photoIds.length > 0, {
    path: ['body'],
    message: 'a post needs a body or at least one photo',
  })
  .openapi('CreatePost');

export const UpdatePostBody = z
  .strictObject({
    kind: PostKind.optional(),
    body: text(2000).min(1).optional(),
    species: species.optional(),
    location: LocationSchema.nullable().optional(),
    geoprivacy: Geoprivacy.optional(),
    observedAt: observedAt.optional(),
    photoIds: photoIds
      .optional()
      .openapi({ description: 'replaces the photos; left-out ones are deleted' }),
  })
  .openapi('UpdatePost');

/** A post as clients see it: the contract's shape. */
export const PostSchema = Post;

export const CommentBody = z.object({ body: text(1000).min(1) }).openapi('CreateComment');

export const CommentSchema = z
  .object({
    id: z.string(),
    postId: z.string(),
    author: User.nullable(),
    body: z.string(),
    createdAt: z.string(),
  })
  .openapi('Comment');

export const NearbyQuery = z.object({
  lat: queryNumber(z.number().min(-90).max(90)),
  lng: queryNumber(z.number().min(-180).max(180)),
  radiusKm: queryNumber(
    z.number().gt(0).max(MAX_NEARBY_RADIUS_KM, `at most ${MAX_NEARBY_RADIUS_KM} km`),
  ).default(5),
  kind: PostKind.optional(),
});

export type { Post };
export type Comment = z.infer<typeof CommentSchema>;
export type CreatePostInput = z.infer<typeof CreatePostBody>;
export type UpdatePostInput = z.infer<typeof UpdatePostBody>;
