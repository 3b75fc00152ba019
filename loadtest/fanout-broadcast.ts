// bench:fanout's broadcast part: an author with --followers followers posting with broadcast
// authors on (workers with FANOUT_BROADCAST_THRESHOLD=--threshold). How fast the followers
// online hear of a post, and how many rows a post writes, whatever its audience.
import { type Notification, userRoom } from '../contract/index.ts';
import {
  describeWrites,
  drained,
  inboxRowsOf,
  insertedTotal,
  post,
  settledWrites,
  writesBetween,
} from './fanout-pipeline.ts';
import { type BenchRun, benchEmitter, log, ms } from './harness.ts';
import { connectFollowers } from './online-followers.ts';

export interface BroadcastSetup {
  serverUrl: string;
  gatewayUrls: string[];
  /** The author with --followers followers, and the others at or past the threshold. */
  author: { id: string; token: string; followers: number };
  others: Array<{ token: string; followers: number }>;
  threshold: number;
  online: number;
  rounds: number;
}

export interface BroadcastFigures {
  /** From the POST's response to the last online socket, each round. */
  delivery: number[];
  bare: number[];
  /** Rows inserted by one post's whole handling, by audience, and its written inbox rows. */
  rows: Array<{ followers: number; inserted: number; written: number }>;
}

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const label = (xs: number[]) => `${ms(median(xs))} (${ms(Math.max(...xs))})`;

/**
 * The followers online: `online` of the author's followers spread evenly over them in id
 * order, the order the fan-out pages them in. Online people are a sample of any audience,
 * not its first pages; the last of them is the author's last follower, so a delivery is
 * over only when the fan-out has gone through the whole audience.
 */
async function spreadFollowers(run: BenchRun, authorId: string, followers: number, online: number) {
  const step = Math.max(1, Math.floor(followers / online));
  const rows = await run.sql<{ id: string }[]>`
    select id from (
      select follower_id as id, row_number() over (order by follower_id) as n
      from follows where followee_id = ${authorId}
    ) numbered where n % ${step} = 0 order by n desc limit ${online}`;
  return rows.map((r) => r.id);
}

export async function broadcastPart(run: BenchRun, setup: BroadcastSetup) {
  const { serverUrl, gatewayUrls, author, threshold } = setup;
  const workers = { env: { FANOUT_BROADCAST_THRESHOLD: String(threshold) } };
  const nodes = await Promise.all([run.start('workers', workers), run.start('workers', workers)]);

  const t = performance.now();
  const onlineIds = await spreadFollowers(run, author.id, author.followers, setup.online);
  const online = await connectFollowers(run, gatewayUrls, onlineIds);
  log(
    `\n# Broadcast authors (workers with FANOUT_BROADCAST_THRESHOLD=${threshold})\n\n` +
      `${online.size} of the ${author.followers.toLocaleString('en')} followers connected across ` +
      `${gatewayUrls.length} gateway nodes in ${((performance.now() - t) / 1000).toFixed(1)} s ` +
      '(every n-th follower in id order, the last follower among them)',
  );

  // The author's first post here: its row, and whatever a first broadcast sets up.
  const first = await post(serverUrl, author.token, { kind: 'wild', body: 'first broadcast' });
  const firstReached = (await online.waitAll(first.id, 600_000)) - first.answeredAt;
  await drained(run);
  const firstDone = performance.now() - first.answeredAt;
  log(
    `the author's first post: last online socket ${ms(firstReached)} after the response, ` +
      `fan-out done after ${ms(firstDone)}`,
  );
  const firstRows = await inboxRowsOf(run, first.id);
  if (firstRows.broadcast === 0) {
    log(
      `warning: that post was not broadcast (${firstRows.written} inbox rows written): ` +
        `its author's ${author.followers} followers did not reach the threshold ${threshold} as the fan-out counts them`,
    );
  }

  const { redis, emitter } = benchEmitter(run);
  const rooms = onlineIds.map(userRoom);
  // A room of the benchmark's own holding exactly the online followers' sockets: one
  // publish reaching them all, the least a push to them can cost through the adapter.
  const oneRoom = `bench:online:${author.id}`;
  for (let i = 0; i < rooms.length; i += 1000) {
    emitter.in(rooms.slice(i, i + 1000)).socketsJoin(oneRoom);
  }
  const probe = 'one-room-probe';
  const probed = online.waitAll(probe, 30_000);
  emitter.to(oneRoom).emit('notification', { id: probe } as Notification);
  await probed;

  const delivery: number[] = [];
  const bare: number[] = [];
  const bareOneRoom: number[] = [];
  const done: number[] = [];
  for (let r = 0; r < setup.rounds; r++) {
    const bareId = `broadcast-bare-${r}`;
    let started = performance.now();
    let arrived = online.waitAll(bareId);
    for (let i = 0; i < rooms.length; i += 1000) {
      emitter.to(rooms.slice(i, i + 1000)).emit('notification', { id: bareId } as Notification);
    }
    bare.push((await arrived) - started);

    const roomId = `broadcast-room-${r}`;
    started = performance.now();
    arrived = online.waitAll(roomId);
    emitter.to(oneRoom).emit('notification', { id: roomId } as Notification);
    bareOneRoom.push((await arrived) - started);

    const sent = await post(serverUrl, author.token, { kind: 'wild', body: `broadcast ${r}` });
    delivery.push((await online.waitAll(sent.id, 600_000)) - sent.answeredAt);
    await drained(run);
    done.push(performance.now() - sent.answeredAt);
  }
  log(
    `\n## Delivery of a broadcast post to ${online.size} online followers of ${author.followers.toLocaleString('en')} (median of ${setup.rounds} rounds, max in brackets)`,
  );
  log('| path | last socket reached after |');
  log('|---|---:|');
  log(`| POST → fan-out worker → adapter (from the POST's response) | ${label(delivery)} |`);
  log(
    `| bare emit to the same ${online.size} user rooms (one publish per 1000) | ${label(bare)} |`,
  );
  log(`| bare emit to one room holding the same sockets (one publish) | ${label(bareOneRoom)} |`);
  log(`| (the post's fan-out over, every chunk acknowledged) | ${label(done)} |`);
  log(
    `ratio to the user-room emit: ${(median(delivery) / median(bare)).toFixed(2)}×; ` +
      `to the one-room emit: ${(median(delivery) / median(bareOneRoom)).toFixed(2)}×`,
  );
  online.close();

  // ---- rows written by one post's whole handling, at each broadcast audience ----
  log(
    "\n## Rows written per broadcast post (its whole handling, PostgreSQL statistics; not the author's first)",
  );
  log('| followers | inbox rows: written / broadcast | rows inserted, by table | in all |');
  log('|---:|---:|---|---:|');
  const rows: BroadcastFigures['rows'] = [];
  // The others' first broadcast posts go first, unmeasured: an author's first broadcast also
  // lists them among the broadcast authors (one row, once), which is not a post's cost.
  for (const { token } of setup.others) await post(serverUrl, token, { kind: 'wild', body: '1st' });
  for (const { token, followers } of [...setup.others, author]) {
    await drained(run);
    const before = await settledWrites(run);
    const sent = await post(serverUrl, token, { kind: 'wild', body: 'rows' });
    await drained(run);
    const writes = writesBetween(before, await settledWrites(run));
    const inbox = await inboxRowsOf(run, sent.id);
    rows.push({ followers, inserted: insertedTotal(writes), written: inbox.written });
    log(
      `| ${followers.toLocaleString('en')} | ${inbox.written} / ${inbox.broadcast} | ${describeWrites(writes)} | ${insertedTotal(writes)} |`,
    );
  }
  redis.disconnect();
  await Promise.all(nodes.map((node) => run.stop(node)));
  return { delivery, bare, rows } satisfies BroadcastFigures;
}
