/**
 * The read cache's scopes (core/read-cache.ts): what one change invalidates.
 * Named here, in one place, because the domains that change a thing are not
 * always the one that reads it (an account deletion's photos step changes
 * posts; the fan-out changes unread counts).
 */
export const cacheScopes = {
  /** A post as everyone sees it: content, public location, counts, photos. */
  post: (id: string) => `post:${id}`,
  /** Whether one viewer likes one post. */
  liked: (postId: string, viewerId: string) => `liked:${postId}:${viewerId}`,
  /** The ids of an author's newest posts (the first page of their list). */
  authorPosts: (authorId: string) => `author-posts:${authorId}`,
  /** A public profile with its counts (or its absence, once deleted). */
  user: (id: string) => `user:${id}`,
  /** A user's unread notification count. */
  unread: (userId: string) => `unread:${userId}`,
  /** Every view of the map's cell counts. */
  map: 'map',
} as const;
