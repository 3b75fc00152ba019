-- Broadcast authors. A post by an author with more followers than
-- FANOUT_BROADCAST_THRESHOLD writes one row here instead of one inbox row per
-- follower, and each follower's inbox merges these rows in at read time
-- (domain/notifications/inbox.ts). Their `seq` is drawn from the inbox's own
-- sequence, at fan-out time as a written row's is, so merged and written items
-- keep one order and one cursor space.
create table broadcast_notifications (
  -- the event's id: the notification id every follower sees
  id uuid primary key,
  seq bigint not null default nextval('notifications_seq_seq'),
  author_id uuid not null references users (id) on delete cascade,
  post_id uuid not null references posts (id) on delete cascade,
  created_at timestamptz not null,
  inserted_at timestamptz not null default clock_timestamp()
);

-- a follower's merge: one author's posts in seq order
create unique index broadcast_notifications_author_seq_key
  on broadcast_notifications (author_id, seq);
-- a deleted post takes its row with it
create index broadcast_notifications_post_idx on broadcast_notifications (post_id);

-- Everyone who has ever broadcast: a merge looks at these followees only, so an
-- inbox whose owner follows none of them costs one small join. Each has a
-- Socket.IO room its followers' sockets join (at connect, on follow); until the
-- sockets online when the author first broadcast were put in it, `rooms_ready`
-- is false and pushes go to each follower's own room.
create table broadcast_authors (
  author_id uuid primary key references users (id) on delete cascade,
  rooms_ready boolean not null default false
);

-- Who followed whom, when, on the inbox's sequence. A broadcast item (seq s)
-- is in a follower's inbox when one of their periods with its author has
-- from_seq < s < to_seq (to_seq null: still following): a follow made after a
-- post does not show it, an unfollow hides the posts after it, as a written
-- inbox would. Kept by a trigger on follows, in the transaction of the edge.
create table follow_periods (
  follower_id uuid not null references users (id) on delete cascade,
  followee_id uuid not null references users (id) on delete cascade,
  from_seq bigint not null,
  to_seq bigint,
  primary key (follower_id, followee_id, from_seq)
);

-- an account deletion removes the periods of those who followed it
create index follow_periods_followee_idx on follow_periods (followee_id);

create function follow_periods_track() returns trigger
language plpgsql as $$
begin
  if tg_op = 'INSERT' then
    insert into follow_periods (follower_id, followee_id, from_seq)
    values (new.follower_id, new.followee_id, nextval('notifications_seq_seq'));
  else
    update follow_periods set to_seq = nextval('notifications_seq_seq')
    where follower_id = old.follower_id and followee_id = old.followee_id and to_seq is null;
  end if;
  return null;
end $$;

create trigger follow_periods_track after insert or delete on follows
for each row execute function follow_periods_track();

-- The edges already there: since before any broadcast item. After the trigger, under a
-- lock that keeps follows still meanwhile: no edge is left without its period.
lock table follows in share row exclusive mode;
insert into follow_periods (follower_id, followee_id, from_seq)
select follower_id, followee_id, 0 from follows;

-- Broadcast items marked read one by one (POST /notifications/read {ids}): a row
-- each, with the item's seq, so that counts can look above the read mark only.
create table broadcast_reads (
  user_id uuid not null references users (id) on delete cascade,
  id uuid not null references broadcast_notifications (id) on delete cascade,
  seq bigint not null,
  read_at timestamptz not null default now(),
  primary key (user_id, id)
);

create index broadcast_reads_id_idx on broadcast_reads (id);
create index broadcast_reads_seq_idx on broadcast_reads (user_id, seq);

-- Marks of "read up to" (POST /notifications/read {upTo}), appended only when
-- they go further: every broadcast item at or below a mark is read, at the time
-- of the first mark that covers it (unless it was read one by one before).
-- Taken under a SHARE lock on broadcast_notifications, which waits for broadcast
-- rows being written: none can commit below a mark after it.
create table broadcast_read_marks (
  user_id uuid not null references users (id) on delete cascade,
  up_to_seq bigint not null,
  marked_at timestamptz not null default now(),
  primary key (user_id, up_to_seq)
);

-- How each post's fan-out went, decided once, at its first fan-out, from its
-- author's follower count then: every retry of that post's fan-out follows the
-- same decision, so a post is never both written and broadcast, whatever the
-- threshold or the author's audience has become since.
create table fanout_modes (
  event_id uuid primary key,
  post_id uuid not null references posts (id) on delete cascade,
  broadcast boolean not null
);

create index fanout_modes_post_idx on fanout_modes (post_id);
