-- Board: posts (located sightings), comments and likes.
--
-- Locations: lat/lng/accuracy_m/cell hold the exact point and are shown to the
-- author only. pub_* hold what every other reader may see: the point itself
-- for open posts, the centre of the coarse (r6) cell for obscured posts,
-- nothing for private posts. Searches and orderings for others use pub_* only.
create table posts (
  id uuid primary key default gen_uuid_v7(),
  -- null once the author's account is deleted ("unknown user")
  author_id uuid references users (id) on delete set null,
  kind text not null check (kind in ('pet', 'stray', 'wild')),
  species text,
  body text not null,
  geoprivacy text not null default 'open' check (geoprivacy in ('open', 'obscured', 'private')),
  lat double precision check (lat between -90 and 90),
  lng double precision check (lng between -180 and 180),
  accuracy_m real check (accuracy_m >= 0),
  cell text,
  pub_lat double precision,
  pub_lng double precision,
  pub_cell text,
  pub_r6 text,
  pub_r7 text,
  pub_r9 text,
  observed_at timestamptz not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- a client's own id for the post: a retried create returns the first post
  client_id text,
  comment_count integer not null default 0 check (comment_count >= 0),
  like_count integer not null default 0 check (like_count >= 0),
  check ((lat is null) = (lng is null))
);

create unique index posts_client_id_key on posts (author_id, client_id) where client_id is not null;
create index posts_author_idx on posts (author_id, id desc);
create index posts_pub_r6_idx on posts (pub_r6, id desc) where pub_r6 is not null;
create index posts_pub_r7_idx on posts (pub_r7, id desc) where pub_r7 is not null;
create index posts_pub_r9_idx on posts (pub_r9, id desc) where pub_r9 is not null;

create table comments (
  id uuid primary key default gen_uuid_v7(),
  post_id uuid not null references posts (id) on delete cascade,
  author_id uuid references users (id) on delete set null,
  body text not null,
  created_at timestamptz not null default now()
);

create index comments_post_idx on comments (post_id, id);

create table likes (
  post_id uuid not null references posts (id) on delete cascade,
  user_id uuid not null references users (id) on delete cascade,
  created_at timestamptz not null default now(),
  primary key (post_id, user_id)
);

create index likes_user_idx on likes (user_id);
