import { cacheScopes } from '../../core/cache-scopes.ts';
import type { Deps } from '../../core/deps.ts';
import { forbidden, notFound } from '../../core/errors.ts';
import { authedRoute, createRouter, errorResponses, jsonBody } from '../../core/http/openapi.ts';
import { decodeCursor, IdCursor, listOf, PageQuery, page } from '../../core/http/pagination.ts';
import { IdParam, requireId } from '../../core/http/params.ts';
import {
  deleteComment,
  findCommentForDelete,
  insertComment,
  like,
  listComments,
  toComment,
  unlike,
} from '../../domain/board/interaction-queries.ts';
import { postOwner } from '../../domain/board/post-writes.ts';
import { CommentBody, CommentSchema } from '../../domain/board/schema.ts';
import { recordEvent } from '../../domain/events/outbox.ts';

const CommentList = listOf(CommentSchema, 'CommentList');

const routes = {
  comment: authedRoute({
    method: 'post',
    path: '/{id}/comments',
    tags: ['board'],
    summary: 'Comment on a post',
    request: {
      params: IdParam,
      body: jsonBody(CommentBody),
    },
    responses: {
      201: {
        description: 'the comment',
        content: { 'application/json': { schema: CommentSchema } },
      },
      ...errorResponses(400, 401, 404, 413, 415, 503),
    },
  }),
  comments: authedRoute({
    method: 'get',
    path: '/{id}/comments',
    tags: ['board'],
    summary: "A post's comments, oldest first",
    request: { params: IdParam, query: PageQuery },
    responses: {
      200: {
        description: 'a page of comments',
        content: { 'application/json': { schema: CommentList } },
      },
      ...errorResponses(400, 401, 404, 503),
    },
  }),
  deleteComment: authedRoute({
    method: 'delete',
    path: '/{id}',
    tags: ['board'],
    summary: "Delete a comment (its author or the post's author)",
    request: { params: IdParam },
    responses: { 204: { description: 'deleted' }, ...errorResponses(401, 403, 404, 503) },
  }),
  like: (method: 'put' | 'delete') =>
    authedRoute({
      method,
      path: '/{id}/like',
      tags: ['board'],
      summary: method === 'put' ? 'Like a post (idempotent)' : 'Take a like back (idempotent)',
      request: { params: IdParam },
      responses: { 204: { description: 'done' }, ...errorResponses(401, 404, 503) },
    }),
};

/** Comments and likes of a post, under /posts. */
export function createInteractionRoutes(deps: Deps) {
  const { sql } = deps;
  const router = createRouter();

  router.openapi(routes.comment, async (c) => {
    const postId = requireId(c.req.valid('param').id, 'post');
    const { body } = c.req.valid('json');
    const me = c.get('auth').userId;
    const row = await sql.begin(async (tx) => {
      // Locking the post orders the comment against a concurrent delete of the post.
      const post = await postOwner(tx, postId, true);
      if (!post) throw notFound('post');
      const comment = await insertComment(tx, postId, me, body);
      await recordEvent(tx, {
        type: 'comment.created',
        commentId: comment.id,
        postId,
        postAuthorId: post.authorId,
        authorId: me,
        createdAt: comment.createdAt.toISOString(),
      });
      return comment;
    });
    await deps.cache.invalidate([cacheScopes.post(postId)]);
    return c.json(toComment(row), 201);
  });

  router.openapi(routes.comments, async (c) => {
    const postId = requireId(c.req.valid('param').id, 'post');
    const { limit, cursor } = c.req.valid('query');
    const after = decodeCursor(cursor, IdCursor)?.id;
    if (!(await postOwner(sql, postId))) throw notFound('post');
    const rows = await listComments(sql, postId, limit, after);
    return c.json(
      page(rows, limit, toComment, (r) => ({ id: r.id })),
      200,
    );
  });

  router.openapi(routes.like('put'), async (c) => {
    const postId = requireId(c.req.valid('param').id, 'post');
    const me = c.get('auth').userId;
    await sql.begin(async (tx) => {
      const post = await postOwner(tx, postId, true);
      if (!post) throw notFound('post');
      const createdAt = await like(tx, postId, me);
      if (createdAt) {
        await recordEvent(tx, {
          type: 'like.created',
          postId,
          postAuthorId: post.authorId,
          userId: me,
          createdAt: createdAt.toISOString(),
        });
      }
    });
    await deps.cache.invalidate([cacheScopes.post(postId), cacheScopes.liked(postId, me)]);
    return c.body(null, 204);
  });

  router.openapi(routes.like('delete'), async (c) => {
    const postId = requireId(c.req.valid('param').id, 'post');
    const me = c.get('auth').userId;
    await sql.begin(async (tx) => {
      if (!(await postOwner(tx, postId, true))) throw notFound('post');
      await unlike(tx, postId, me);
    });
    await deps.cache.invalidate([cacheScopes.post(postId), cacheScopes.liked(postId, me)]);
    return c.body(null, 204);
  });

  return router;
}

/** A comment on its own, under /comments. */
export function createCommentRoutes(deps: Deps) {
  const { sql } = deps;
  const router = createRouter();

  router.openapi(routes.deleteComment, async (c) => {
    const id = requireId(c.req.valid('param').id, 'comment');
    const me = c.get('auth').userId;
    const postId = await sql.begin(async (tx) => {
      const comment = await findCommentForDelete(tx, id);
      if (!comment) throw notFound('comment');
      if (comment.authorId !== me && comment.postAuthorId !== me) {
        throw forbidden("only the comment's author or the post's author can delete it");
      }
      await deleteComment(tx, id, comment.postId);
      await recordEvent(tx, { type: 'comment.deleted', commentId: id, postId: comment.postId });
      return comment.postId;
    });
    await deps.cache.invalidate([cacheScopes.post(postId)]);
    return c.body(null, 204);
  });

  return router;
}
