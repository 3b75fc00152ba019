// zod with OpenAPI metadata: the same zod, extended so the HTTP document can name these shapes.
import { z } from '@hono/zod-openapi';

/**
 * The shapes clients see, over HTTP and on sockets: one zod schema each. The
 * OpenAPI document names them (`.openapi('User')`), the contract's TypeScript
 * types are inferred from them, and the domain builds its answers to them.
 */

export const PostKind = z.enum(['pet', 'stray', 'wild']);
export type PostKind = z.infer<typeof PostKind>;

/** Who sees a post's point: everyone, everyone at a coarse cell, or its author alone. */
export const Geoprivacy = z.enum(['open', 'obscured', 'private']);
export type Geoprivacy = z.infer<typeof Geoprivacy>;

export const NotificationType = z.enum(['post', 'comment', 'like', 'follow']);
export type NotificationType = z.infer<typeof NotificationType>;

export const User = z
  .object({
    id: z.string(),
    handle: z.string(),
    displayName: z.string(),
    bio: z.string(),
    createdAt: z.string().openapi({ format: 'date-time' }),
    followerCount: z.number().int(),
    followingCount: z.number().int(),
    postCount: z.number().int(),
  })
  .openapi('User');
export type User = z.infer<typeof User>;

export const Location = z
  .object({
    lat: z.number().min(-90).max(90).openapi({ example: 38.7223 }),
    lng: z.number().min(-180).max(180).openapi({ example: -9.1393 }),
    accuracyM: z.number().min(0).max(100_000).optional().openapi({ description: 'metres' }),
  })
  .openapi('Location');
export type Location = z.infer<typeof Location>;

export const Photo = z
  .object({
    id: z.string(),
    width: z.number().int(),
    height: z.number().int(),
    urls: z.object({ thumb: z.string(), small: z.string(), large: z.string() }),
  })
  .openapi('Photo');
export type Photo = z.infer<typeof Photo>;

export const Post = z
  .object({
    id: z.string(),
    author: User.nullable().openapi({ description: 'null once the author deleted the account' }),
    kind: PostKind,
    species: z.string().nullable(),
    body: z.string(),
    location: Location.nullable().openapi({
      description:
        'exact for open posts and for the author; the centre of a coarse H3 cell (r6) for ' +
        'obscured posts; null for private posts',
    }),
    geoprivacy: Geoprivacy,
    cell: z.string().nullable().openapi({ description: 'H3 cell (r9, or r6 when obscured)' }),
    photos: z.array(Photo),
    observedAt: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
    commentCount: z.number().int(),
    likeCount: z.number().int(),
    likedByMe: z.boolean(),
  })
  .openapi('Post');
export type Post = z.infer<typeof Post>;

export const Notification = z
  .object({
    id: z.string(),
    type: NotificationType,
    actor: User.nullable().openapi({ description: 'null once the actor deleted the account' }),
    postId: z.string().nullable(),
    commentId: z.string().nullable(),
    createdAt: z.string(),
    readAt: z.string().nullable(),
  })
  .openapi('Notification');
export type Notification = z.infer<typeof Notification>;

/** Posts counted in one map cell (the aggregates behind the map's hexagons). */
export const MapCellCount = z.object({
  cell: z.string(),
  count: z.number().int(),
  lastAt: z.string(),
});
export type MapCellCount = z.infer<typeof MapCellCount>;
