import { describe, expect, it } from 'vitest';
import type { RunningNode } from '../node.ts';
import type { SignedUpUser } from './helpers/builders.ts';
import { type HttpApi, httpApi } from './helpers/http.ts';
import { nodeUrl, useInProcessNodes } from './helpers/realtime.ts';

// The Redis cache of hot reads, across two server nodes sharing one Redis: every
// change made through node A is read at once through node B, which had it cached.
const nodes = useInProcessNodes();

async function twoNodes() {
  const a = await nodes.start('server,workers');
  const b = await nodes.start('server');
  // Each node's cache connects on its own; until then its reads go to PostgreSQL.
  for (const node of [a, b]) await expect.poll(() => node.deps.cache.usable).toBe(true);
  return { a, b, viaA: httpApi(nodeUrl(a)), viaB: httpApi(nodeUrl(b)) };
}

/** Cache lookups of one kind and outcome on a node, from its /metrics. */
async function lookups(node: RunningNode, kind: string, outcome: string): Promise<number> {
  const text = await (await fetch(`${nodeUrl(node)}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`read_cache_lookups_total{kind="${kind}",outcome="${outcome}"}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

/** Reads twice through `api` (the second from the cache) and returns the second body. */
async function warm(api: HttpApi, path: string, as: SignedUpUser) {
  await api.call('GET', path, as.accessToken);
  return (await api.call('GET', path, as.accessToken)).body;
}

const LISBON = { lat: 38.7223, lng: -9.1393 };
/** Where only the map test posts (the file's tests share one database). */
const CAPE_TOWN = { lat: -33.92, lng: 18.42 };

describe('the read cache across nodes', () => {
  it('reads every change made through node A at once through node B', async () => {
    const { b, viaA, viaB } = await twoNodes();
    const author = await viaA.signup();
    const reader = await viaA.signup();
    const post = await viaA.post(author, {
      body: 'A fox at dusk',
      location: LISBON,
      geoprivacy: 'open',
    });
    const postPath = `/posts/${post.id}`;
    const read = async (path: string, as = reader) =>
      (await viaB.call('GET', path, as.accessToken)).body;

    expect(await warm(viaB, postPath, reader)).toMatchObject({ body: 'A fox at dusk' });
    expect(await lookups(b, 'post', 'hit')).toBeGreaterThan(0);

    // Edit.
    await viaA.call('PATCH', postPath, author.accessToken, { body: 'Two foxes at dusk' });
    expect(await read(postPath)).toMatchObject({ body: 'Two foxes at dusk' });

    // Geoprivacy: from open to obscured, the exact point leaves at once.
    await warm(viaB, postPath, reader);
    await viaA.call('PATCH', postPath, author.accessToken, { geoprivacy: 'obscured' });
    const obscured = await read(postPath);
    expect(obscured.geoprivacy).toBe('obscured');
    expect(obscured.location).not.toMatchObject(LISBON);
    expect(obscured.location.accuracyM).toBeUndefined();

    // Like and unlike: the count for everyone, likedByMe for the liker only.
    await viaA.call('PUT', `${postPath}/like`, reader.accessToken);
    expect(await read(postPath)).toMatchObject({ likeCount: 1, likedByMe: true });
    expect(await read(postPath, await viaA.signup())).toMatchObject({
      likeCount: 1,
      likedByMe: false,
    });
    await viaA.call('DELETE', `${postPath}/like`, reader.accessToken);
    expect(await read(postPath)).toMatchObject({ likeCount: 0, likedByMe: false });

    // Comment, and its deletion.
    const comment = await viaA.call('POST', `${postPath}/comments`, reader.accessToken, {
      body: 'Lovely',
    });
    expect(await read(postPath)).toMatchObject({ commentCount: 1 });
    await viaA.call('DELETE', `/comments/${comment.body.id}`, reader.accessToken);
    expect(await read(postPath)).toMatchObject({ commentCount: 0 });

    // Follow and unfollow: both profiles' counts, and the author as embedded in the post.
    const authorPath = `/users/${author.id}`;
    await warm(viaB, authorPath, reader);
    await viaA.follow(reader, author);
    expect(await read(authorPath)).toMatchObject({ followerCount: 1 });
    expect(await read(`/users/${reader.id}`)).toMatchObject({ followingCount: 1 });
    expect((await read(postPath)).author).toMatchObject({ followerCount: 1 });
    await viaA.call('DELETE', `${authorPath}/follow`, reader.accessToken);
    expect(await read(authorPath)).toMatchObject({ followerCount: 0 });

    // A profile edit shows on the profile and on the post.
    await viaA.call('PATCH', '/me', author.accessToken, { displayName: 'Fox Watcher' });
    expect(await read(authorPath)).toMatchObject({ displayName: 'Fox Watcher' });
    expect((await read(postPath)).author).toMatchObject({ displayName: 'Fox Watcher' });

    // The author's list: a new post is on its first page, a deleted one is not, nor readable.
    const listPath = `/users/${author.id}/posts`;
    await warm(viaB, listPath, reader);
    const second = await viaA.post(author, { body: 'A badger' });
    expect((await read(listPath)).items.map((p: { id: string }) => p.id)).toEqual([
      second.id,
      post.id,
    ]);
    expect(await lookups(b, 'author-posts', 'hit')).toBeGreaterThan(0);
    await warm(viaB, `/posts/${second.id}`, reader);
    await viaA.call('DELETE', `/posts/${second.id}`, author.accessToken);
    expect((await viaB.call('GET', `/posts/${second.id}`, reader.accessToken)).status).toBe(404);
    expect((await read(listPath)).items.map((p: { id: string }) => p.id)).toEqual([post.id]);
  });

  it('keeps the unread count and the map in step with the workers and with reads marked', async () => {
    const { b, viaA, viaB } = await twoNodes();
    const author = await viaA.signup();
    const reader = await viaA.signup();
    await viaA.follow(reader, author);
    const count = async () =>
      (await viaB.call('GET', '/notifications/unread-count', reader.accessToken)).body.count;
    expect(await count()).toBe(0);
    expect(await count()).toBe(0);
    expect(await lookups(b, 'unread', 'hit')).toBeGreaterThan(0);

    const box = `${CAPE_TOWN.lng - 0.5},${CAPE_TOWN.lat - 0.5},${CAPE_TOWN.lng + 0.5},${CAPE_TOWN.lat + 0.5}`;
    const mapPath = `/map/cells?bbox=${box}&zoom=9`;
    const mapCount = async () =>
      (
        (await viaB.call('GET', mapPath, reader.accessToken)).body.cells as { count: number }[]
      ).reduce((n, c) => n + c.count, 0);
    expect(await mapCount()).toBe(0);
    expect(await mapCount()).toBe(0);
    expect(await lookups(b, 'map-cells', 'hit')).toBeGreaterThan(0);

    // A post: the fan-out (a worker on node A) fills the inbox, the live map's worker the
    // aggregates; node B's cached answers follow as each commits.
    await viaA.post(author, { location: CAPE_TOWN, geoprivacy: 'open' });
    await expect.poll(count, { timeout: 10_000 }).toBe(1);
    await expect.poll(mapCount, { timeout: 10_000 }).toBe(1);

    // A post deleted through node A takes its unread notification with it.
    const gone = await viaA.post(author, { body: 'Gone soon' });
    await expect.poll(count, { timeout: 10_000 }).toBe(2);
    await viaA.call('DELETE', `/posts/${gone.id}`, author.accessToken);
    expect(await count()).toBe(1);

    // Marked read through node A: node B answers 0 at once.
    const list = await viaA.call('GET', '/notifications', reader.accessToken);
    await viaA.call('POST', '/notifications/read', reader.accessToken, {
      ids: list.body.items.map((n: { id: string }) => n.id),
    });
    expect(await count()).toBe(0);
  });

  it('forgets an account when it is deleted: its profile at once, then what each domain changes', async () => {
    const { viaA, viaB } = await twoNodes();
    const victim = await viaA.signup();
    const friend = await viaA.signup();
    const theirs = await viaA.post(friend, { body: 'A heron' });
    const mine = await viaA.post(victim, { body: 'A toad', location: LISBON, geoprivacy: 'open' });
    await viaA.follow(friend, victim);
    await viaA.call('PUT', `/posts/${theirs.id}/like`, victim.accessToken);

    const victimPath = `/users/${victim.id}`;
    expect(await warm(viaB, victimPath, friend)).toMatchObject({ followerCount: 1 });
    expect(await warm(viaB, `/posts/${mine.id}`, friend)).toMatchObject({
      author: { id: victim.id },
    });
    expect(await warm(viaB, `/posts/${theirs.id}`, friend)).toMatchObject({ likeCount: 1 });
    expect(await warm(viaB, `/users/${friend.id}`, friend)).toMatchObject({ followingCount: 1 });
    await warm(viaB, `${victimPath}/posts`, friend);

    const deleted = await viaA.call('DELETE', '/me', victim.accessToken, {
      password: victim.input.password,
    });
    expect(deleted.status).toBe(202);
    // At once, through node B: no profile, no list, posts signed by nobody.
    expect((await viaB.call('GET', victimPath, friend.accessToken)).status).toBe(404);
    expect((await viaB.call('GET', `${victimPath}/posts`, friend.accessToken)).status).toBe(404);
    expect(
      (await viaB.call('GET', `/posts/${mine.id}`, friend.accessToken)).body.author,
    ).toBeNull();
    // Then, as the workers on node A run each domain's step: the like and the follow go,
    // and the post keeps only its public point.
    const read = async (path: string) => (await viaB.call('GET', path, friend.accessToken)).body;
    await expect
      .poll(async () => (await read(`/posts/${theirs.id}`)).likeCount, { timeout: 15_000 })
      .toBe(0);
    await expect
      .poll(async () => (await read(`/users/${friend.id}`)).followingCount, { timeout: 15_000 })
      .toBe(0);
    await expect
      .poll(async () => (await read(`/posts/${mine.id}`)).geoprivacy, { timeout: 15_000 })
      .toBe('obscured');
  });

  it("never shows one viewer another's like or the author's exact point", async () => {
    const { viaA, viaB } = await twoNodes();
    const author = await viaA.signup();
    const liker = await viaA.signup();
    const other = await viaA.signup();
    const post = await viaA.post(author, { location: LISBON, geoprivacy: 'obscured' });
    const path = `/posts/${post.id}`;
    await viaA.call('PUT', `${path}/like`, liker.accessToken);

    // The author first (exact point), then the liker, then someone else, then the author
    // again: each read after the first could be served from what the one before stored.
    const byAuthor = await warm(viaB, path, author);
    expect(byAuthor.location).toMatchObject(LISBON);
    const byLiker = await warm(viaB, path, liker);
    expect(byLiker.likedByMe).toBe(true);
    expect(byLiker.location).not.toMatchObject(LISBON);
    const byOther = await warm(viaB, path, other);
    expect(byOther).toMatchObject({ likedByMe: false, likeCount: 1 });
    expect(byOther.location).toEqual(byLiker.location);
    expect((await warm(viaB, path, author)).location).toMatchObject(LISBON);

    // Likewise in the author's list.
    const listed = async (as: SignedUpUser) =>
      (await warm(viaB, `/users/${author.id}/posts`, as)).items[0];
    expect((await listed(liker)).likedByMe).toBe(true);
    expect((await listed(other)).likedByMe).toBe(false);
    expect((await listed(other)).location).not.toMatchObject(LISBON);
    expect((await listed(author)).location).toMatchObject(LISBON);
  });

  it('reads the same through a node with the cache turned off, and stores nothing', async () => {
    const { viaA } = await twoNodes();
    const off = await nodes.start('server', { READ_CACHE: 'false' });
    const viaOff = httpApi(nodeUrl(off));
    const author = await viaA.signup();
    const reader = await viaA.signup();
    const post = await viaA.post(author, { location: LISBON, geoprivacy: 'obscured' });
    await viaA.call('PUT', `/posts/${post.id}/like`, reader.accessToken);
    for (const path of [`/posts/${post.id}`, `/users/${author.id}`, `/users/${author.id}/posts`]) {
      const cached = await warm(viaA, path, reader);
      expect(await warm(viaOff, path, reader)).toEqual(cached);
    }
    expect(await lookups(off, 'user', 'bypass')).toBeGreaterThan(0);
    expect(await lookups(off, 'user', 'hit')).toBe(0);
  });
});
