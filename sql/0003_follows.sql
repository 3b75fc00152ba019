-- Social graph. The counts live on users (follower_count, following_count) and
-- change in the same transaction as the edge, only when an edge really appears
-- or disappears, so they stay right under concurrent follows and unfollows.
create table follows (
  follower_id uuid not null references users (id) on delete cascade,
  followee_id uuid not null references users (id) on delete cascade,
  created_at timestamptz not null default clock_timestamp(),
  primary key (follower_id, followee_id),
  check (follower_id <> followee_id)
);

-- followers of X, newest first (also the fan-out's keyset scan)
create index follows_followee_idx on follows (followee_id, created_at desc, follower_id desc);
-- whom X follows, newest first
create index follows_follower_idx on follows (follower_id, created_at desc, followee_id desc);
