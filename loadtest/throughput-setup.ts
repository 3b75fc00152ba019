// The audience bench-throughput.ts loads: AUTHORS authors and FOLLOWERS followers, each
// follower following FOLLOWS_EACH authors spread evenly, so that every author has
// FOLLOWERS × FOLLOWS_EACH / AUTHORS followers. With the defaults (1,000 authors, 10,000
// followers, 10 follows each) every author has 100 followers, and the first 100 authors'
// audiences do not overlap: a burst of one post by each reaches every follower once.
import type { BenchRun } from './harness.ts';

export interface Audience {
  authorIds: string[];
  authorTokens: string[];
  followerIds: string[];
  followerTokens: string[];
  /** For each author (by index), the ids of its followers. */
  followersByAuthor: string[][];
}

/** `n` users named `<prefix>_<i>` (no usable password: the benchmark signs their tokens). */
async function insertUsers(run: BenchRun, prefix: string, name: string, n: number) {
  const rows = await run.sql<{ id: string }[]>`
    insert into users (email, handle, display_name, password_hash)
    select ${prefix} || i || '@bench.test', ${prefix} || '_' || i, ${name} || ' ' || i, 'scrypt$x'
    from generate_series(0, ${n - 1}) as i returning id`;
  return rows.map((r) => r.id);
}

export async function seedAudience(
  run: BenchRun,
  shape: { authors: number; followers: number; followsEach: number },
): Promise<Audience> {
  const { sql } = run;
  const { authors, followers, followsEach } = shape;
  if ((followers * followsEach) % authors !== 0 || authors % followsEach !== 0) {
    throw new Error('followers × follows-each must spread evenly over the authors');
  }
  const authorIds = await insertUsers(run, 'a', 'Author', authors);
  const followerIds = await insertUsers(run, 'f', 'Follower', followers);
  // Follower f follows authors (f + k × authors / followsEach) mod authors, k < followsEach:
  // distinct authors, and each author followed by the same number of followers.
  const step = authors / followsEach;
  const pairs: { followerId: string; authorId: string }[] = [];
  const followersByAuthor = authorIds.map(() => [] as string[]);
  for (let f = 0; f < followers; f++) {
    for (let k = 0; k < followsEach; k++) {
      const a = (f + k * step) % authors;
      pairs.push({ followerId: followerIds[f]!, authorId: authorIds[a]! });
      followersByAuthor[a]!.push(followerIds[f]!);
    }
  }
  for (let i = 0; i < pairs.length; i += 20_000) {
    const slice = pairs.slice(i, i + 20_000);
    await sql`
      insert into follows (follower_id, followee_id)
      select unnest(${slice.map((p) => p.followerId)}::uuid[]),
             unnest(${slice.map((p) => p.authorId)}::uuid[])`;
  }
  const followerCount = (followers * followsEach) / authors;
  await sql`update users set follower_count = ${followerCount} where id = any(${authorIds}::uuid[])`;
  await sql`update users set following_count = ${followsEach} where id = any(${followerIds}::uuid[])`;
  await sql`analyze`;
  return {
    authorIds,
    followerIds,
    followersByAuthor,
    authorTokens: await run.tokensFor(authorIds),
    followerTokens: await run.tokensFor(followerIds),
  };
}
