// The two systems bench-throughput.ts loads: ours (POSTs to the server node, consumer
// groups read from Redis) and the bare baseline (the same notification emitted through the
// adapter from the benchmark's own process), and the figures both are read by.
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import type { Server } from 'socket.io';
import { EVENTS_STREAM, FANOUT_STREAM, userRoom } from '../contract/index.ts';
import { REDIS_URL } from '../test/helpers/env.ts';
import type { BenchRun } from './harness.ts';
import type { Sent } from './throughput-report.ts';
import type { Audience } from './throughput-setup.ts';

/**
 * The system clock, read at the moment, in this process and the fleet's alike. Not
 * `performance.timeOrigin + performance.now()`: that is the wall clock at the process's
 * start plus a monotonic count, and on this VM the wall clock is stepped against the
 * monotonic one by seconds over a long run, so two processes started minutes apart
 * disagree by that much.
 */
export const wall = () => Date.now();

/** Sends one message by author `a`; resolves with what was sent. */
export type Post = (a: number, tag: string) => Promise<Sent>;

export interface System {
  name: string;
  /** The processes whose CPU a burst costs (nodes, and PostgreSQL's and Redis's for ours). */
  pids: () => Promise<Record<string, number[]>>;
  post: Post;
  /** Consumer groups' lag and pending, for the sustained run (ours only). */
  groups?: () => Promise<Record<string, { lag: number; pending: number }>>;
}

/** CPU seconds (user + system) a set of processes has used so far. */
export function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // a PostgreSQL backend that ended meanwhile
    }
  }
  return ticks / 100;
}

/** Redis's own process, whose CPU both systems spend. */
export async function redisPid(): Promise<number> {
  const redis = new Redis(REDIS_URL);
  const info = await redis.info('server');
  redis.disconnect();
  return Number(/process_id:(\d+)/.exec(info)?.[1]);
}

/** The system under test: posts over HTTP, delivered by the whole pipeline. */
export function ours(
  run: BenchRun,
  serverUrl: string,
  pids: Record<string, number[]>,
  audience: Audience,
): System {
  // Closed with the run (an open client would keep the benchmark from exiting). XINFO's
  // key is not prefixed by ioredis: the keys below carry the prefix themselves.
  const raw = run.redis();
  const parse = (reply: unknown[]) =>
    Object.fromEntries(
      (reply as unknown[][]).map((fields) => {
        const group: Record<string, unknown> = {};
        for (let i = 0; i + 1 < fields.length; i += 2) group[String(fields[i])] = fields[i + 1];
        return [
          String(group.name),
          { lag: Number(group.lag ?? 0), pending: Number(group.pending ?? 0) },
        ];
      }),
    );
  return {
    name: 'Unimal',
    // The nodes, Redis, and the PostgreSQL backends serving this run's database.
    pids: async () => ({
      ...pids,
      postgres: (
        await run.sql<{ pid: number }[]>`
          select pid from pg_stat_activity where datname = current_database()`
      ).map((r) => r.pid),
    }),
    async post(a) {
      const startedAt = wall();
      const res = await fetch(`${serverUrl}/api/v1/posts`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${audience.authorTokens[a]}`,
          'content-type': 'application/json',
        },
        // Spread over Europe, as real sightings are: not every post in the same map cells.
        body: JSON.stringify({
          kind: 'stray',
          body: 'a cat',
          location: { lat: 36 + Math.random() * 20, lng: -9 + Math.random() * 30 },
        }),
      });
      const answeredAt = wall();
      const post = (await res.json()) as { id: string };
      if (res.status !== 201) throw new Error(`POST answered ${res.status}`);
      return {
        key: post.id,
        startedAt,
        answeredAt,
        expected: audience.followersByAuthor[a]!.length,
      };
    },
    async groups() {
      const [events, chunks] = await Promise.all([
        raw.xinfo('GROUPS', `${run.redisPrefix}${EVENTS_STREAM}`).catch(() => []),
        raw.xinfo('GROUPS', `${run.redisPrefix}${FANOUT_STREAM}`).catch(() => []),
      ]);
      const byGroup = parse(events as unknown[]);
      const chunkGroups = parse(chunks as unknown[]);
      for (const [name, value] of Object.entries(chunkGroups)) byGroup[`chunks:${name}`] = value;
      return byGroup;
    },
  };
}

/** The bare baseline's messages: a notification as ours sends it, same fields and size. */
export function bare(
  emitter: Server,
  pids: Record<string, number[]>,
  audience: Audience,
  mode: string,
): System {
  const createdAt = new Date().toISOString();
  return {
    name: `bare Socket.IO (${mode})`,
    // The nodes, Redis, and this process, which emits.
    pids: async () => ({ ...pids, emitter: [process.pid] }),
    async post(a, tag) {
      const startedAt = wall();
      const id = `${tag}-${startedAt}`;
      emitter.to(audience.followersByAuthor[a]!.map(userRoom)).emit('notification', {
        id,
        type: 'post',
        actor: {
          id: audience.authorIds[a],
          handle: `a_${a}`,
          displayName: `Author ${a}`,
          bio: '',
          createdAt,
          followerCount: 100,
          followingCount: 0,
          postCount: 1,
        },
        postId: id,
        commentId: null,
        createdAt,
        readAt: null,
      });
      return {
        key: id,
        startedAt,
        answeredAt: startedAt,
        expected: audience.followersByAuthor[a]!.length,
      };
    },
  };
}
