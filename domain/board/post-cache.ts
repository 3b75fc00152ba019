import type { User } from '../../contract/index.ts';
import { cacheScopes } from '../../core/cache-scopes.ts';
import type { Deps } from '../../core/deps.ts';
import { notFound } from '../../core/errors.ts';
import type { CacheEntry } from '../../core/read-cache.ts';
import { readProfile } from '../users/index.ts';
import { likedAmong } from './interaction-queries.ts';
import { findPost, findPosts, newestPostIds, type PostRow, toPost } from './post-reads.ts';
import type { Post } from './schema.ts';

/**
 * Posts through the read cache. What is cached is what every viewer shares: the
 * post as nobody in particular sees it (public location, counts, photos) and
 * its author's id. Each request adds its own part: the author's profile (from
 * the profile cache), whether this viewer liked it (an entry per viewer and
 * post, never shared), and, for the author reading their own post, the exact
 * location: the author's reads skip the cache.
 */

/** The part of a post every viewer shares. */
type SharedPost = Omit<Post, 'author' | 'likedByMe'> & { authorId: string | null };

const postEntry = (id: string): CacheEntry => ({ kind: 'post', scope: cacheScopes.post(id) });
const likedEntry = (postId: string, viewerId: string): CacheEntry => ({
  kind: 'liked',
  scope: cacheScopes.liked(postId, viewerId),
  key: postId,
});

/** How many of an author's newest post ids are cached: the largest first page. */
const FIRST_PAGE_IDS = 101;

type ReadDeps = Pick<Deps, 'sql' | 'cache' | 'config'>;

function shared(row: PostRow, mediaBase: string): SharedPost {
  const { author: _author, likedByMe: _liked, ...rest } = toPost(row, mediaBase);
  return { ...rest, authorId: row.authorId };
}

/** Adds each post's author and this viewer's like; `known` authors are not read again. */
async function withViewerPart(
  deps: ReadDeps,
  posts: SharedPost[],
  viewerId: string,
  known: ReadonlyMap<string, User | null> = new Map(),
): Promise<Post[]> {
  const authorIds = [...new Set(posts.map((p) => p.authorId).filter((id) => id !== null))];
  const [authors, liked] = await Promise.all([
    Promise.all(
      authorIds.map(
        async (id) => [id, known.has(id) ? known.get(id)! : await readProfile(deps, id)] as const,
      ),
    ),
    deps.cache.readMany<boolean>(
      posts.map((p) => likedEntry(p.id, viewerId)),
      async (missing) => {
        const ids = missing.map((m) => m.key!);
        const likes = await likedAmong(deps.sql, viewerId, ids);
        return new Map(ids.map((id) => [id, likes.has(id)]));
      },
    ),
  ]);
  const byId = new Map(authors);
  return posts.map(({ authorId, ...post }) => ({
    ...post,
    author: authorId ? (byId.get(authorId) ?? null) : null,
    likedByMe: liked.get(post.id) === true,
  }));
}

/** A post as this viewer sees it, or 404. */
export async function readPostView(deps: ReadDeps, id: string, viewerId: string): Promise<Post> {
  const base = deps.config.mediaPublicUrl;
  if (!deps.cache.enabled) {
    // Without the cache, one statement reads every part of it at once.
    const row = await findPost(deps.sql, id, viewerId);
    if (!row) throw notFound('post');
    return toPost(row, base);
  }
  const post = await deps.cache.read(postEntry(id), async () => {
    const row = await findPost(deps.sql, id, null);
    return row ? shared(row, base) : null;
  });
  if (!post) throw notFound('post');
  if (post.authorId === viewerId) {
    const own = await findPost(deps.sql, id, viewerId);
    if (!own) throw notFound('post');
    return toPost(own, base);
  }
  const [view] = await withViewerPart(deps, [post], viewerId);
  return view!;
}

/**
 * The first page of an author's posts as another viewer sees it (`limit + 1`
 * posts at most, as the paging expects): the ids from the author's cached list,
 * each post from its own entry. Undefined when the author has no live account.
 */
export async function authorFirstPageView(
  deps: ReadDeps,
  authorId: string,
  viewerId: string,
  limit: number,
): Promise<Post[] | undefined> {
  const base = deps.config.mediaPublicUrl;
  const [author, ids] = await Promise.all([
    readProfile(deps, authorId),
    deps.cache.read({ kind: 'author-posts', scope: cacheScopes.authorPosts(authorId) }, () =>
      newestPostIds(deps.sql, authorId, FIRST_PAGE_IDS),
    ),
  ]);
  if (!author) return undefined;
  const wanted = ids.slice(0, limit + 1);
  const posts = await deps.cache.readMany<SharedPost>(wanted.map(postEntry), async (missing) => {
    const rows = await findPosts(
      deps.sql,
      missing.map((m) => m.scope.slice('post:'.length)),
      null,
    );
    return new Map(rows.map((row) => [cacheScopes.post(row.id), shared(row, base)]));
  });
  const found = wanted
    .map((id) => posts.get(cacheScopes.post(id)))
    .filter((p): p is SharedPost => p !== undefined && p !== null);
  return withViewerPart(deps, found, viewerId, new Map([[authorId, author]]));
}
