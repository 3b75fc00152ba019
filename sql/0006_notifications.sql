-- Notifications inbox and the event pipeline's database side.

-- Every event gets a stable, time-ordered id: consumers derive idempotency keys
-- from it (a redelivered event must not notify twice).
alter table outbox add column event_id uuid not null default gen_uuid_v7();
alter table outbox add column stream_id text;

-- Wake the relay the moment an event commits (NOTIFY is delivered on commit).
create or replace function outbox_notify() returns trigger
language plpgsql as $$
begin
  perform pg_notify('outbox', new.id::text);
  return null;
end $$;

create trigger outbox_notify after insert on outbox
for each row execute function outbox_notify();

-- The inbox. One event notifies many people with the same `id` (the event's
-- id), so one payload can be broadcast to every recipient's room, and the
-- primary key makes a redelivered event insert nothing twice. `seq` is the
-- insertion order: lists and sync follow it, so a late fan-out chunk is never
-- skipped by a client that synced past a newer event.
create table notifications (
  user_id uuid not null references users (id) on delete cascade,
  id uuid not null,
  seq bigint generated always as identity,
  type text not null check (type in ('post', 'comment', 'like', 'follow')),
  actor_id uuid references users (id) on delete set null,
  post_id uuid references posts (id) on delete cascade,
  comment_id uuid references comments (id) on delete cascade,
  created_at timestamptz not null default now(),
  -- when the row was written (created_at is the event's time)
  inserted_at timestamptz not null default clock_timestamp(),
  read_at timestamptz,
  primary key (user_id, id)
);

create unique index notifications_seq_key on notifications (user_id, seq);
create index notifications_unread_idx on notifications (user_id, seq) where read_at is null;
create index notifications_actor_idx on notifications (actor_id);

-- Fan-out pages a post author's followers by follower id.
create index follows_fanout_idx on follows (followee_id, follower_id);
