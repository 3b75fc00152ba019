import { io as connectRaw } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import { deletionProgress } from '../domain/account-deletion.ts';
import { DELETION_WORKERS } from '../workers/account-deletion.ts';
import { sweepStorageDeletions } from '../workers/storage.ts';
import { httpApi } from './helpers/http.ts';
import { image, multipart } from './helpers/images.ts';
import { nodeUrl, useInProcessNodes } from './helpers/realtime.ts';

const cluster = useInProcessNodes();

function connect(url: string, token: string) {
  const socket = connectRaw(url, {
    path: '/socket.io',
    transports: ['websocket'],
    auth: { token },
    reconnection: false,
  });
  const connected = new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  const closed = new Promise<string>((resolve) =>
    socket.once('disconnect', (reason) => resolve(reason)),
  );
  return { socket, connected, closed };
}

describe('account deletion', { timeout: 60_000 }, () => {
  it('stops the account at once, then every domain cleans up its part, and nothing else changes', async () => {
    const a = await cluster.start('server,gateway,workers');
    const b = await cluster.start('gateway');
    const api = httpApi(nodeUrl(a));
    const sql = a.deps.sql;
    const victim = await api.signup();
    const friend = await api.signup();
    const fan = await api.signup();
    await api.follow(fan, victim);
    await api.follow(victim, friend);

    // The victim's photo, posts (one open with the photo, one obscured), comment and like on
    // the friend's post; the friend's like and comment on the victim's post.
    const form = multipart('file', 'a.jpg', 'image/jpeg', await image('jpeg'));
    const photo = (await (
      await fetch(`${nodeUrl(a)}/api/v1/photos`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${victim.accessToken}`,
          'content-type': form.contentType,
        },
        body: form.body,
      })
    ).json()) as { id: string };
    const open = await api.post(victim, {
      location: { lat: 38.713917, lng: -9.133651 },
      photoIds: [photo.id],
    });
    const obscured = await api.post(victim, {
      location: { lat: 41.151234, lng: -8.612345 },
      geoprivacy: 'obscured',
    });
    const theirs = await api.post(friend, { body: 'My heron' });
    const victimComment = await api.call(
      'POST',
      `/posts/${theirs.id}/comments`,
      victim.accessToken,
      { body: 'Nice' },
    );
    await api.call('PUT', `/posts/${theirs.id}/like`, victim.accessToken);
    await api.call('PUT', `/posts/${open.id}/like`, friend.accessToken);
    await api.call('POST', `/posts/${open.id}/comments`, friend.accessToken, { body: 'Wow' });
    // Notifications both ways have all landed. To the victim: the fan's follow, the
    // friend's post, like and comment. From the victim: two posts to the fan, and a
    // follow, a comment and a like to the friend.
    await expect
      .poll(
        async () => {
          const [r] = await sql`
          select (select count(*)::int from notifications where user_id = ${victim.id}) as mine,
            (select count(*)::int from notifications where actor_id = ${victim.id}) as caused`;
          return r;
        },
        { timeout: 15_000 },
      )
      .toEqual({ mine: 4, caused: 5 });

    // Connected on both gateway nodes.
    const onA = connect(nodeUrl(a), victim.accessToken);
    const onB = connect(nodeUrl(b), victim.accessToken);
    await Promise.all([onA.connected, onB.connected]);

    expect(
      (await api.call('DELETE', '/me', victim.accessToken, { password: 'wrong-password' })).status,
    ).toBe(401);
    expect((await api.call('DELETE', '/me', victim.accessToken, {})).status).toBe(400);
    expect(
      (await api.call('DELETE', '/me', victim.accessToken, { password: victim.input.password }))
        .status,
    ).toBe(202);
    expect(await Promise.all([onA.closed, onB.closed])).toEqual([
      'io server disconnect',
      'io server disconnect',
    ]);
    // From this moment: no token, no login, no refresh, no profile; a second delete is refused.
    expect((await api.call('GET', '/me', victim.accessToken)).status).toBe(401);
    expect(
      (await api.call('DELETE', '/me', victim.accessToken, { password: victim.input.password }))
        .status,
    ).toBe(401);
    expect(
      (
        await api.call('POST', '/auth/login', undefined, {
          email: victim.input.email,
          password: victim.input.password,
        })
      ).status,
    ).toBe(401);
    expect(
      (await api.call('POST', '/auth/refresh', undefined, { refreshToken: victim.refreshToken }))
        .status,
    ).toBe(401);
    expect((await api.call('GET', `/users/${victim.id}`, friend.accessToken)).status).toBe(404);

    // Every domain finishes its step.
    await expect
      .poll(
        async () => (await deletionProgress(sql)).find((r) => r.userId === victim.id)?.completedAt,
        {
          timeout: 30_000,
        },
      )
      .toBeInstanceOf(Date);
    const steps = (
      await sql`select domain from account_deletion_steps where user_id = ${victim.id} order by domain`
    ).map((r) => r.domain);
    expect(steps).toEqual(['auth', 'board', 'notifications', 'photos', 'social']);
    // What `npm run deletions` shows an operator.
    const progress = (await deletionProgress(sql)).find((r) => r.userId === victim.id);
    expect(progress).toMatchObject({
      done: ['auth', 'board', 'notifications', 'photos', 'social'],
    });
    expect(progress!.completedAt).toBeInstanceOf(Date);

    // Board: posts stay as "unknown user", no exact point anywhere; likes gone, counts right.
    const read = await api.call('GET', `/posts/${open.id}`, friend.accessToken);
    expect(read.body).toMatchObject({
      author: null,
      geoprivacy: 'obscured',
      likeCount: 1,
      commentCount: 1,
      photos: [],
    });
    expect(JSON.stringify(read.body)).not.toContain('713917');
    const [exact] =
      await sql`select count(*)::int as n from posts where id in (${open.id}, ${obscured.id}) and lat is not null`;
    expect(exact!.n).toBe(0);
    const comment = await api.call('GET', `/posts/${theirs.id}/comments`, friend.accessToken);
    expect(comment.body.items).toMatchObject([{ id: victimComment.body.id, author: null }]);
    expect((await api.call('GET', `/posts/${theirs.id}`, friend.accessToken)).body).toMatchObject({
      likeCount: 0,
      author: { id: friend.id, followerCount: 0 },
    });
    // Social: edges gone, the others' counts corrected.
    expect((await api.call('GET', `/users/${fan.id}`, fan.accessToken)).body.followingCount).toBe(
      0,
    );
    const [edges] = await sql`
      select count(*)::int as n from follows where follower_id = ${victim.id} or followee_id = ${victim.id}`;
    expect(edges!.n).toBe(0);
    // Notifications: the inbox and what the victim caused elsewhere are gone.
    const [notes] = await sql`
      select count(*)::int as n from notifications where user_id = ${victim.id} or actor_id = ${victim.id}`;
    expect(notes!.n).toBe(0);
    // Photos: rows gone, objects gone once the sweep ran.
    expect(
      (await sql`select count(*)::int as n from photos where owner_id = ${victim.id}`)[0]!.n,
    ).toBe(0);
    // (The node's own periodic sweep may hold the rows at that moment: sweep until gone.)
    await expect
      .poll(
        async () => {
          await sweepStorageDeletions(a.deps);
          return a.deps.storage.head(`photos/${photo.id}/large.webp`);
        },
        { timeout: 15_000 },
      )
      .toBeUndefined();
    // Auth: personal data scrubbed; the handle is held back.
    const [user] =
      await sql`select email, handle, display_name, bio, password_hash from users where id = ${victim.id}`;
    expect(JSON.stringify(user)).not.toContain(victim.input.email);
    expect(user).toMatchObject({ display_name: '', bio: '', password_hash: '' });
    expect(user!.handle).not.toBe(victim.input.handle);
    const taken = await api.call('POST', '/auth/signup', undefined, {
      email: `new_${victim.input.email}`,
      password: 'another-password',
      handle: victim.input.handle,
      displayName: 'Copycat',
    });
    expect(taken.status).toBe(409);
    // The friend's own things are untouched.
    expect((await api.call('GET', '/me', friend.accessToken)).body).toMatchObject({ postCount: 1 });

    // Redelivery (a consumer killed after its work, before its ack): every step runs again
    // and changes nothing.
    const [event] = await sql`select event_id, payload from outbox where type = 'user.deleted'`;
    const before =
      await sql`select id, author_id, like_count, comment_count, lat from posts order by id`;
    for (const worker of DELETION_WORKERS) {
      await worker.handle(
        {
          id: '0-1',
          deliveries: 2,
          fields: {
            eventId: event!.event_id,
            outboxId: '1',
            event: JSON.stringify(event!.payload),
          },
        },
        a.deps,
      );
    }
    expect(
      await sql`select id, author_id, like_count, comment_count, lat from posts order by id`,
    ).toEqual(before);
  });
});
