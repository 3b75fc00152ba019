// Every list query of the API, called through its domain function with the seed's hard
// shapes as inputs: a first page and a deep page (a cursor far into the list) where the
// API pages. The cursors are looked up here; the statements judged are the ones the
// domain functions send.
import { v7 as uuidv7 } from 'uuid';
import type { Bbox } from '../../contract/index.ts';
import type { Sql } from '../../core/db.ts';
import { nearbyRings } from '../../domain/board/geoprivacy.ts';
import { listComments } from '../../domain/board/interaction-queries.ts';
import {
  listFeed,
  listNearby,
  listPostsByAuthor,
  listPostsInBox,
} from '../../domain/board/post-reads.ts';
import { resolutionForZoom } from '../../domain/map/geo.ts';
import { cellCounts } from '../../domain/map/queries.ts';
import { listNotifications } from '../../domain/notifications/queries.ts';
import { listEdges } from '../../domain/social/queries.ts';
import { BUSY_POST_CLIENT_ID, fixtureHandles } from '../seed-fixtures.ts';

/** Page size of the API's default `?limit=`. */
const LIMIT = 20;
const LISBON = { lat: 38.7223, lng: -9.1393 };

export interface PlanCase {
  /** The API's list, as in `GET /api/v1/…`. */
  query: string;
  /** The input and the page. */
  input: string;
  run: (sql: Sql) => Promise<unknown>;
}

/** A UUIDv7 of `days` ago: a keyset cursor that far back in an id-ordered list. */
const daysAgo = (days: number) => uuidv7({ msecs: Date.now() - days * 86_400_000 });

function box(center: { lat: number; lng: number }, w: number, h: number): Bbox {
  return {
    minLng: center.lng - w / 2,
    minLat: center.lat - h / 2,
    maxLng: center.lng + w / 2,
    maxLat: center.lat + h / 2,
  };
}

/** Looks the fixtures up (by handle, under the seed's prefix) and builds the cases. */
export async function planCases(sql: Sql, prefix: string): Promise<PlanCase[]> {
  const names = fixtureHandles(prefix);
  const idOf = async (handle: string) => {
    const [row] = await sql<{ id: string }[]>`select id from users where handle = ${handle}`;
    if (!row) throw new Error(`fixture ${handle} is missing: seed with fixtures`);
    return row.id;
  };
  const following = await idOf(names.following);
  const quietFeed = await idOf(names.quietFeed);
  const inbox = await idOf(names.inbox);
  const busyAuthor = await idOf(names.busyAuthor);
  const [busy] = await sql<{ id: string }[]>`
    select id from posts where author_id = ${busyAuthor} and client_id = ${BUSY_POST_CLIENT_ID}`;
  const [popular] = await sql<{ id: string; handle: string }[]>`
    select id, handle from users order by follower_count desc, id limit 1`;
  const [ordinary] = await sql<{ id: string }[]>`
    select id from users where handle = ${`${prefix}50000`}`;
  const ordinaryId = ordinary?.id ?? following;
  const quiet1 = await idOf(names.quiet(1));
  /** Who reads the lists that are anybody's (posts of a user, nearby, the map). */
  const viewer = ordinaryId;

  // Deep cursors: half-way into each long list.
  const [quietPage2] = await sql<{ id: string }[]>`
    select p.id from follows f join posts p on p.author_id = f.followee_id
    where f.follower_id = ${quietFeed} order by p.id desc offset ${LIMIT - 1} limit 1`;
  const [midComment] = await sql<{ id: string }[]>`
    select id from comments where post_id = ${busy!.id} order by id
    offset (select count(*) / 2 from comments where post_id = ${busy!.id}) limit 1`;
  const [midSeq] = await sql<{ seq: number }[]>`
    select seq from notifications where user_id = ${inbox} order by seq
    offset (select count(*) / 2 from notifications where user_id = ${inbox}) limit 1`;
  const edgeAt = async (column: 'followee_id' | 'follower_id', userId: string) => {
    const theirs = column === 'followee_id' ? 'follower_id' : 'followee_id';
    const [row] = await sql<{ us: number; id: string }[]>`
      select (extract(epoch from created_at) * 1000000)::bigint as us, ${sql(theirs)} as id
      from follows where ${sql(column)} = ${userId}
      order by created_at desc, ${sql(theirs)} desc
      offset (select count(*) / 2 from follows where ${sql(column)} = ${userId}) limit 1`;
    return row!;
  };
  const deepFollower = await edgeAt('followee_id', popular!.id);
  const deepFollowing = await edgeAt('follower_id', following);

  const cases: PlanCase[] = [];
  const add = (query: string, input: string, run: (sql: Sql) => Promise<unknown>) =>
    cases.push({ query, input, run });

  // GET /feed
  add('feed', 'follows 2,000 active · first page', (s) => listFeed(s, following, LIMIT));
  add('feed', 'follows 2,000 active · 15 days back', (s) =>
    listFeed(s, following, LIMIT, daysAgo(15)),
  );
  add('feed', 'follows 20 quiet · first page', (s) => listFeed(s, quietFeed, LIMIT));
  add('feed', 'follows 20 quiet · page 2', (s) =>
    listFeed(s, quietFeed, LIMIT, quietPage2?.id ?? daysAgo(50)),
  );
  add('feed', 'ordinary user · first page', (s) => listFeed(s, ordinaryId, LIMIT));

  // GET /users/:id/posts
  // Authors are drawn with a bias to the first users: user 1 posts the most.
  const active = { id: await idOf(`${prefix}1`) };
  add('user posts', 'most active author · first page', (s) =>
    listPostsByAuthor(s, active.id, viewer, LIMIT),
  );
  add('user posts', 'most active author · 15 days back', (s) =>
    listPostsByAuthor(s, active.id, viewer, LIMIT, daysAgo(15)),
  );
  add('user posts', 'quiet author · first page', (s) =>
    listPostsByAuthor(s, quiet1, viewer, LIMIT),
  );

  // GET /posts/nearby (radius picks the resolution: r9 ≤ 2 km, r7 ≤ 10 km, r6 beyond)
  for (const radiusKm of [1, 5, 25]) {
    const { resolution, rings } = nearbyRings(LISBON.lat, LISBON.lng, radiusKm);
    const base = { viewerId: viewer, ...LISBON, radiusKm, resolution, rings, limit: LIMIT };
    const mid = Math.floor(Math.max(...rings.map((r) => r.ring)) / 2);
    add('nearby', `Lisbon ${radiusKm} km (r${resolution}) · first page`, (s) =>
      listNearby(s, base),
    );
    add('nearby', `Lisbon ${radiusKm} km (r${resolution}) · ring ${mid}, 15 days back`, (s) =>
      listNearby(s, { ...base, after: { ring: mid, id: daysAgo(15) } }),
    );
  }

  // GET /posts/:id/comments
  add('comments', '50,000 comments · first page', (s) => listComments(s, busy!.id, LIMIT));
  add('comments', '50,000 comments · middle', (s) =>
    listComments(s, busy!.id, LIMIT, midComment!.id),
  );

  // GET /notifications
  for (const unread of [false, true]) {
    const which = unread ? 'unread, 100,000 inbox' : '100,000 inbox';
    add('notifications', `${which} · first page`, (s) =>
      listNotifications(s, inbox, { unread, limit: LIMIT }),
    );
    add('notifications', `${which} · middle`, (s) =>
      listNotifications(s, inbox, { unread, limit: LIMIT, beforeSeq: midSeq!.seq }),
    );
  }

  // GET /users/:id/followers and /following
  add('followers', `most followed (${popular!.handle}) · first page`, (s) =>
    listEdges(s, popular!.id, 'followers', LIMIT),
  );
  add('followers', 'most followed · middle', (s) =>
    listEdges(s, popular!.id, 'followers', LIMIT, deepFollower),
  );
  add('following', 'follows 2,000 · first page', (s) =>
    listEdges(s, following, 'following', LIMIT),
  );
  add('following', 'follows 2,000 · middle', (s) =>
    listEdges(s, following, 'following', LIMIT, deepFollowing),
  );

  // GET /map/cells (no paging: at most MAX_CELLS cells)
  for (const [name, zoom, w, h] of [
    ['city', 12, 0.2, 0.12],
    ['country', 6, 6, 6],
    ['continent', 3, 50, 35],
  ] as const) {
    const resolution = resolutionForZoom(zoom);
    add('map cells', `${name}, zoom ${zoom} (r${resolution})`, (s) =>
      cellCounts(s, { bbox: box(LISBON, w, h), resolution }),
    );
  }
  add('map cells', 'city, zoom 12, strays only', (s) =>
    cellCounts(s, { bbox: box(LISBON, 0.2, 0.12), resolution: 8, kind: 'stray' }),
  );

  // GET /map/sightings
  for (const [name, center, w, h] of [
    ['Lisbon street, ~1 km', LISBON, 0.012, 0.008],
    ['Lisbon city, ~18 km', LISBON, 0.2, 0.12],
    // Sparse: the edge of the least dense city, where few posts lie in the box.
    ['Nairobi outskirts, ~5 km', { lat: -1.6, lng: 37.2 }, 0.05, 0.04],
  ] as const) {
    const bbox = box(center, w, h);
    add('map sightings', `${name} · first page`, (s) =>
      listPostsInBox(s, { viewerId: viewer, bbox, limit: LIMIT }),
    );
    add('map sightings', `${name} · 15 days back`, (s) =>
      listPostsInBox(s, { viewerId: viewer, bbox, limit: LIMIT, before: daysAgo(15) }),
    );
  }
  add('map sightings', 'Lisbon city, wild only · first page', (s) =>
    listPostsInBox(s, {
      viewerId: viewer,
      bbox: box(LISBON, 0.2, 0.12),
      kind: 'wild',
      limit: LIMIT,
    }),
  );
  return cases;
}
