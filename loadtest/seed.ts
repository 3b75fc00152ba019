// `npm run seed`: a believable community in the database of DATABASE_URL — users with a
// skewed follower distribution and thousands of sightings of pets, strays and wildlife
// around a few cities, some obscured, some private — so the map viewer and the
// benchmarks have something real-looking to show. Deterministic for a given --seed.
//
//   npm run seed -- --seed=42 --users=2000 --posts=20000
//   npm run seed -- --users=100000 --posts=1000000     (the scale of npm run check:plans)
//
// Besides the sightings: comments and notifications in proportion to them, and the named
// fixtures of loadtest/seed-fixtures.ts (the shapes that are hard for queries);
// --fixtures=false leaves out both.
import { v7 as uuidv7 } from 'uuid';
import { loadConfig } from '../core/config.ts';
import { createSql, ensureDatabase } from '../core/db.ts';
import { createLogger } from '../core/logger.ts';
import { migrate } from '../core/migrate.ts';
import { hashPassword } from '../domain/auth/passwords.ts';
import { geoFor } from '../domain/board/geoprivacy.ts';
import { geoColumns } from '../domain/board/post-writes.ts';
import { cellCenter, MAP_RESOLUTIONS, mapCells } from '../domain/map/geo.ts';
import {
  type Activity,
  activityCounts,
  drawActivity,
  type FixtureSizes,
  insertActivity,
  seedFixtures,
} from './seed-fixtures.ts';
import { dropSecondaryIndexes, rebuildIndexes } from './seed-indexes.ts';

const args = new Map(
  process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]),
);
const SEED = Number(args.get('seed') ?? 42);
const USERS = Number(args.get('users') ?? 2_000);
const SIGHTINGS = Number(args.get('posts') ?? args.get('sightings') ?? 20_000);
const FIXTURES = args.get('fixtures') !== 'false';
export const SEED_PASSWORD = 'unimal-seed-password';

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CITIES = [
  { name: 'Lisbon', lat: 38.7223, lng: -9.1393, weight: 5, spread: 0.08 },
  { name: 'Porto', lat: 41.1579, lng: -8.6291, weight: 3, spread: 0.06 },
  { name: 'Berlin', lat: 52.52, lng: 13.405, weight: 4, spread: 0.12 },
  { name: 'London', lat: 51.5074, lng: -0.1278, weight: 4, spread: 0.15 },
  { name: 'Istanbul', lat: 41.0082, lng: 28.9784, weight: 3, spread: 0.12 },
  { name: 'Nairobi', lat: -1.2921, lng: 36.8219, weight: 2, spread: 0.2 },
];
const SPECIES = {
  pet: ['Canis familiaris', 'Felis catus', 'Oryctolagus cuniculus', 'Melopsittacus undulatus'],
  stray: ['Felis catus', 'Canis familiaris', 'Columba livia'],
  wild: ['Vulpes vulpes', 'Erinaceus europaeus', 'Ardea cinerea', 'Sciurus vulgaris', 'Pica pica'],
} as const;
const BODIES = {
  pet: [
    'Out for the morning walk.',
    'Sunbathing on the balcony again.',
    'Met a new friend at the park.',
  ],
  stray: [
    'Same ginger one by the bakery.',
    'A colony of five behind the market.',
    'Looks hungry, left some water.',
  ],
  wild: [
    'Crossing the path at dusk.',
    'Fishing in the canal!',
    'Nest spotted in the old plane tree.',
  ],
} as const;

export interface SeedOptions {
  seed: number;
  users: number;
  sightings: number;
  /**
   * Also comments and notifications in proportion, and the named fixtures (see
   * seed-fixtures.ts), at these sizes (FULL_FIXTURES by default). Off when absent.
   */
  fixtures?: boolean | FixtureSizes;
  log?: (line: string) => void;
}

/** Seeds a migrated database; returns the sign-in of the most followed user. */
export async function seed(sql: ReturnType<typeof createSql>, options: SeedOptions) {
  const rand = prng(options.seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const log = options.log ?? (() => {});
  const prefix = `s${options.seed}_`;
  const [existing] = await sql`select 1 from users where handle = ${`${prefix}1`}`;
  if (existing) {
    log(`already seeded with --seed=${options.seed}`);
    return { email: `${prefix}1@seed.unimal.test`, password: SEED_PASSWORD };
  }

  // Without the secondary indexes while loading, rebuilt before anything reads (see
  // seed-indexes.ts).
  const dropped = await dropSecondaryIndexes(sql);
  try {
    // Users: one password for all (hashed once), so anyone may sign in as any of them.
    const hash = await hashPassword(SEED_PASSWORD, 12);
    const userIds: string[] = [];
    for (let i = 1; i <= options.users; i += 5_000) {
      const n = Math.min(5_000, options.users - i + 1);
      const idx = Array.from({ length: n }, (_, k) => i + k);
      const rows = await sql<{ id: string }[]>`
        insert into users (email, handle, display_name, password_hash)
        select ${prefix} || i || '@seed.unimal.test', ${prefix} || i, 'Seed user ' || i, ${hash}
        from unnest(${idx}::int[]) as i
        returning id`;
      userIds.push(...rows.map((r) => r.id));
    }
    log(`${userIds.length} users`);

    // Follows: each user follows a few others, chosen with a power-law preference for the
    // first ones, so a handful are very popular and most have few followers.
    const followers: string[] = [];
    const followees: string[] = [];
    for (let u = 0; u < userIds.length; u++) {
      const count = 3 + Math.floor(rand() * 20);
      const chosen = new Set<number>();
      for (let k = 0; k < count; k++) {
        const target = Math.min(userIds.length - 1, Math.floor(userIds.length * rand() ** 3));
        if (target !== u) chosen.add(target);
      }
      for (const t of chosen) {
        followers.push(userIds[u]!);
        followees.push(userIds[t]!);
      }
    }
    for (let i = 0; i < followers.length; i += 20_000) {
      await sql`
        insert into follows (follower_id, followee_id)
        select * from unnest(${followers.slice(i, i + 20_000)}::uuid[], ${followees.slice(i, i + 20_000)}::uuid[])
        on conflict do nothing`;
    }
    log(`${followers.length} follows`);

    // Sightings around the cities, over the last 30 days; their map aggregates alongside.
    const totalWeight = CITIES.reduce((s, c) => s + c.weight, 0);
    const pickCity = (w: number) => {
      let left = w;
      for (const c of CITIES) {
        left -= c.weight;
        if (left < 0) return c;
      }
      return CITIES[0]!;
    };
    const aggregates = new Map<
      string,
      { res: number; cell: string; kind: string; count: number; last: number }
    >();
    const now = Date.now();
    const BATCH = 10_000;
    const rows: PostInsert[] = [];
    const points: Array<{ id: string; kind: string; cells: string[]; at: Date }> = [];
    for (let i = 0; i < options.sightings; i += BATCH) {
      for (let k = 0; k < Math.min(BATCH, options.sightings - i); k++) {
        const city = pickCity(rand() * totalWeight);
        const kind = pick(['pet', 'pet', 'stray', 'stray', 'wild'] as const);
        const r = rand();
        const geoprivacy = r < 0.7 ? 'open' : r < 0.9 ? 'obscured' : 'private';
        const lat = Math.max(-89, Math.min(89, city.lat + gauss() * city.spread));
        const lng = ((city.lng + gauss() * city.spread * 1.3 + 540) % 360) - 180;
        const geo = geoFor({ lat, lng, accuracyM: Math.round(5 + rand() * 50) }, geoprivacy);
        const at = new Date(now - Math.floor(rand() * 30 * 86_400_000));
        const id = uuidv7({ msecs: at.getTime() });
        rows.push({
          id,
          author_id: userIds[Math.floor(userIds.length * rand() ** 2)]!,
          kind,
          species: pick(SPECIES[kind]),
          body: pick(BODIES[kind]),
          geoprivacy,
          ...geoColumns(geo),
          observed_at: at,
          created_at: at,
          updated_at: at,
        });
        if (geo.pubLat !== null && geo.pubLng !== null) {
          const cells = mapCells(geo.pubLat, geo.pubLng);
          points.push({ id, kind, cells, at });
          cells.forEach((cell, j) => {
            const key = `${MAP_RESOLUTIONS[j]}|${cell}|${kind}`;
            const a = aggregates.get(key) ?? {
              res: MAP_RESOLUTIONS[j]!,
              cell,
              kind,
              count: 0,
              last: 0,
            };
            a.count += 1;
            a.last = Math.max(a.last, at.getTime());
            aggregates.set(key, a);
          });
        }
      }
    }
    // In the order generated (comments pick posts by it), then inserted in id order: the
    // primary keys' b-trees then grow at their right edge instead of splitting pages all
    // over. Each batch goes as one array per column (unnest): 21 parameters a statement
    // whatever its size, and 21 values for PostgreSQL to parse, not 21 per row.
    const postIds = rows.map((r) => r.id);
    const activity: Activity | undefined = options.fixtures
      ? drawActivity(rand, userIds, postIds)
      : undefined;
    const counts = activity ? activityCounts(activity) : new Map();
    const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
    rows.sort(byId);
    points.sort(byId);
    for (let i = 0; i < rows.length; i += BATCH) {
      await insertPosts(sql, rows.slice(i, i + BATCH), counts);
      if ((i / BATCH) % 10 === 9) log(`${Math.min(rows.length, i + BATCH)} sightings`);
    }
    for (let i = 0; i < points.length; i += BATCH) {
      const chunk = points.slice(i, i + BATCH);
      // Each point's cells travel as one comma-separated string (H3 cells hold no commas).
      await sql`
        insert into map_points (post_id, kind, cells, created_at)
        select id, kind, string_to_array(cells, ','), created_at
        from unnest(${chunk.map((p) => p.id)}::uuid[], ${chunk.map((p) => p.kind)}::text[],
          ${chunk.map((p) => p.cells.join(','))}::text[], ${chunk.map((p) => p.at.toISOString())}::timestamptz[])
          as u(id, kind, cells, created_at)`;
    }
    const cells = [...aggregates.values()];
    for (let i = 0; i < cells.length; i += 10_000) {
      const chunk = cells.slice(i, i + 10_000);
      const centers = chunk.map((c) => cellCenter(c.cell));
      await sql`
        insert into map_cells (res, cell, kind, count, last_at, center_lat, center_lng)
        select * from unnest(${chunk.map((c) => c.res)}::smallint[], ${chunk.map((c) => c.cell)}::text[],
          ${chunk.map((c) => c.kind)}::text[], ${chunk.map((c) => c.count)}::int[],
          ${chunk.map((c) => new Date(c.last).toISOString())}::timestamptz[], ${centers.map((c) => c[0])}::float8[],
          ${centers.map((c) => c[1])}::float8[])
        on conflict (res, cell, kind) do update
          set count = map_cells.count + excluded.count, last_at = greatest(map_cells.last_at, excluded.last_at)`;
    }
    if (options.fixtures) {
      const sizes = options.fixtures === true ? undefined : options.fixtures;
      await insertActivity(sql, activity!, log);
      await seedFixtures(sql, { prefix, userIds, sizes, passwordHash: hash, log });
    }
  } finally {
    log(`rebuilding ${dropped.length} indexes`);
    await rebuildIndexes(sql, dropped);
  }
  log('counting');
  await sql`
    update users u set
      follower_count = (select count(*) from follows where followee_id = u.id),
      following_count = (select count(*) from follows where follower_id = u.id),
      post_count = (select count(*) from posts where author_id = u.id)
    where u.handle like ${`${prefix}%`}`;
  // Vacuumed as well as analysed: a settled table's visibility map lets index-only scans
  // skip the heap, as they would in a database that has been running for a while.
  await sql`vacuum analyze`;
  return { email: `${prefix}1@seed.unimal.test`, password: SEED_PASSWORD };
}

type PostInsert = {
  id: string;
  author_id: string;
  kind: string;
  species: string;
  body: string;
  geoprivacy: string;
  lat: number | null;
  lng: number | null;
  accuracy_m: number | null;
  cell: string | null;
  pub_lat: number | null;
  pub_lng: number | null;
  pub_cell: string | null;
  pub_r6: string | null;
  pub_r7: string | null;
  pub_r9: string | null;
  observed_at: Date;
  created_at: Date;
  updated_at: Date;
};

async function insertPosts(
  sql: ReturnType<typeof createSql>,
  rows: PostInsert[],
  counts: ReadonlyMap<string, { comments: number; likes: number }>,
) {
  const col = <K extends keyof PostInsert>(k: K) => rows.map((r) => r[k]);
  const times = (k: 'observed_at' | 'created_at' | 'updated_at') =>
    rows.map((r) => r[k].toISOString());
  const count = (k: 'comments' | 'likes') => rows.map((r) => counts.get(r.id)?.[k] ?? 0);
  await sql`
    insert into posts (id, author_id, kind, species, body, geoprivacy, lat, lng, accuracy_m, cell,
      pub_lat, pub_lng, pub_cell, pub_r6, pub_r7, pub_r9, observed_at, created_at, updated_at,
      comment_count, like_count)
    select * from unnest(${col('id')}::uuid[], ${col('author_id')}::uuid[], ${col('kind')}::text[],
      ${col('species')}::text[], ${col('body')}::text[], ${col('geoprivacy')}::text[],
      ${col('lat')}::float8[], ${col('lng')}::float8[], ${col('accuracy_m')}::real[],
      ${col('cell')}::text[], ${col('pub_lat')}::float8[], ${col('pub_lng')}::float8[],
      ${col('pub_cell')}::text[], ${col('pub_r6')}::text[], ${col('pub_r7')}::text[],
      ${col('pub_r9')}::text[], ${times('observed_at')}::timestamptz[],
      ${times('created_at')}::timestamptz[], ${times('updated_at')}::timestamptz[],
      ${count('comments')}::int[], ${count('likes')}::int[])`;
}

async function main() {
  const config = loadConfig();
  const logger = createLogger(config);
  if (config.databaseCreate) await ensureDatabase(config.databaseUrl);
  const sql = createSql({ ...config, databasePoolSize: 2 }, logger);
  try {
    await migrate(sql, { logger });
    const started = performance.now();
    const login = await seed(sql, {
      seed: SEED,
      users: USERS,
      sightings: SIGHTINGS,
      fixtures: FIXTURES,
      log: (l) =>
        console.log(`${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s  ${l}`),
    });
    console.log(`seeded in ${((performance.now() - started) / 1000).toFixed(1)} s (seed ${SEED})`);
    console.log(`sign in at /map as ${login.email} / ${login.password}`);
  } finally {
    await sql.end();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
