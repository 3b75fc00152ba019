import type { z } from '@hono/zod-openapi';
import { v7 as uuidv7 } from 'uuid';
import type { Sql, TxSql } from '../../core/db.ts';
import { AppError, forbidden, notFound } from '../../core/errors.ts';
import { isId } from '../../core/http/params.ts';
import { recordEvent } from '../events/index.ts';
import { unreadRecipientsOf } from '../notifications/index.ts';
import { attachPhotos, replacePostPhotos } from '../photos/index.ts';
import { geoFor } from './geoprivacy.ts';
import { exactLocation, findPost, isEmptyPost, type PostRow } from './post-reads.ts';
import {
  createPostAtOnce,
  deletePost,
  findByClientId,
  insertPost,
  postOwner,
  updatePost,
} from './post-writes.ts';
import type { CreatePostBody, UpdatePostBody } from './schema.ts';

/**
 * What the board does with posts, whoever asks: create (with photos and a
 * clientId for retries), edit, delete, each with its event in the same
 * transaction, and only by the author.
 */

/** The post as this viewer sees it, or 404. */
export async function readPost(sql: Sql, id: string, viewerId: string): Promise<PostRow> {
  const row = await findPost(sql, id, viewerId);
  if (!row) throw notFound('post');
  return row;
}

type NewPostInput = z.infer<typeof CreatePostBody>;
type PostChanges = z.infer<typeof UpdatePostBody>;
type Owner = NonNullable<Awaited<ReturnType<typeof postOwner>>>;

function newPost(authorId: string, input: NewPostInput) {
  const geo = geoFor(input.location, input.geoprivacy);
  return { id: uuidv7(), createdAt: new Date(), authorId, input, geo };
}

function postCreated(post: ReturnType<typeof newPost>) {
  return {
    type: 'post.created',
    postId: post.id,
    authorId: post.authorId,
    kind: post.input.kind,
    geoprivacy: post.input.geoprivacy,
    publicCell: post.geo.pubCell,
    createdAt: post.createdAt.toISOString(),
  } as const;
}

/**
 * Creates a post with its photos and its post.created event. A retry with a `clientId`
 * already used by the author changes nothing and gives back the first post (`created`
 * false).
 */
export async function createPost(
  sql: Sql,
  authorId: string,
  input: NewPostInput,
): Promise<{ row: PostRow; created: boolean }> {
  const post = newPost(authorId, input);
  const event = postCreated(post);
  const photoIds = input.photoIds.map((p) => p.toLowerCase());
  if (photoIds.length === 0) {
    // Most posts: one statement, one round trip.
    const row = await createPostAtOnce(sql, post, event);
    return row ? { row, created: true } : { row: await firstOfRetry(sql, post), created: false };
  }
  return sql.begin(async (tx) => {
    // One round trip: insert, count, event, photos and the read-back, pipelined in order.
    const [created, attached, row] = await Promise.all([
      insertPost(tx, post, event),
      attachPhotos(tx, post.id, authorId, photoIds.filter(isId)),
      findPost(tx, post.id, authorId),
    ]);
    if (!created) return { row: await firstOfRetry(tx, post), created };
    rejectUnattached([...photoIds.filter((p) => !isId(p)), ...attached.rejected]);
    return { row: row!, created };
  });
}

/** The post an earlier request with this one's `clientId` created. */
async function firstOfRetry(sql: Sql | TxSql, post: ReturnType<typeof newPost>): Promise<PostRow> {
  const id = await findByClientId(sql, post.authorId, post.input.clientId!);
  return (await findPost(sql, id, post.authorId))!;
}

/** Applies the author's edit: fields, location and its cells, photos, and post.updated. */
export async function editPost(tx: TxSql, id: string, me: string, changes: PostChanges) {
  const owner = await lockOwnPost(tx, id, me, 'edit');
  const updated = await updatePost(tx, id, changes, await changedGeo(tx, id, owner, changes));
  if (changes.photoIds) await replacePhotos(tx, id, me, changes.photoIds);
  await recordEvent(tx, {
    type: 'post.updated',
    postId: id,
    authorId: me,
    kind: updated.kind,
    geoprivacy: updated.geoprivacy,
    publicCell: updated.pubCell,
    createdAt: updated.createdAt.toISOString(),
  });
}

/**
 * Deletes the author's post (its comments, likes and notifications with it) and says so
 * with post.deleted. Returns who had an unread notification of it (their counts fall).
 */
export async function removePost(tx: TxSql, id: string, me: string): Promise<string[]> {
  const owner = await lockOwnPost(tx, id, me, 'delete');
  // The post's row is locked: no notification of it can be added from here on.
  const unread = await unreadRecipientsOf(tx, id);
  await deletePost(tx, id, me);
  await recordEvent(tx, {
    type: 'post.deleted',
    postId: id,
    authorId: me,
    publicCell: owner.pubCell,
  });
  return unread;
}

/** Locks the post for the rest of the transaction, and lets only its author go on. */
async function lockOwnPost(tx: TxSql, id: string, me: string, action: 'edit' | 'delete') {
  const owner = await postOwner(tx, id, true);
  if (!owner) throw notFound('post');
  if (owner.authorId !== me) throw forbidden(`only the author can ${action} a post`);
  return owner;
}

/** The stored geo after an edit, or undefined when neither the location nor its privacy changes. */
async function changedGeo(tx: TxSql, id: string, owner: Owner, changes: PostChanges) {
  if (changes.location === undefined && changes.geoprivacy === undefined) return undefined;
  const location = changes.location === undefined ? await exactLocation(tx, id) : changes.location;
  return geoFor(location, changes.geoprivacy ?? owner.geoprivacy);
}

/** Replaces the post's photos with the given ones; the post must keep a body or a photo. */
async function replacePhotos(tx: TxSql, postId: string, me: string, given: string[]) {
  const photoIds = given.map((p) => p.toLowerCase());
  rejectUnattached(photoIds.filter((p) => !isId(p)));
  await replacePostPhotos(tx, postId, photoIds);
  await attachOrFail(tx, postId, me, photoIds);
  if (await isEmptyPost(tx, postId)) {
    throw new AppError('validation_failed', 'a post needs a body or at least one photo', {
      details: {
        in: 'json',
        fields: [{ field: 'photoIds', message: 'a post needs a body or at least one photo' }],
      },
    });
  }
}

/** Attaches photos or fails the whole transaction, naming the ids that cannot be attached. */
async function attachOrFail(tx: TxSql, postId: string, ownerId: string, given: string[]) {
  const photoIds = given.map((id) => id.toLowerCase());
  const invalid = photoIds.filter((id) => !isId(id));
  const { rejected } = await attachPhotos(tx, postId, ownerId, photoIds.filter(isId));
  rejectUnattached([...invalid, ...rejected]);
}

function rejectUnattached(bad: string[]) {
  if (bad.length > 0) {
    throw new AppError('validation_failed', `photoIds: ${bad.join(', ')} cannot be attached`, {
      details: {
        in: 'json',
        fields: [
          {
            field: 'photoIds',
            message:
              'each photo must be one of your own processed photos, not attached to another post',
          },
        ],
        photoIds: bad,
      },
    });
  }
}
