-- Transactional outbox: domain events written in the same transaction as the
-- change they describe, then relayed to Redis Streams (published_at set once
-- the stream has them). The id orders events as they committed their inserts.
create table outbox (
  id bigint generated always as identity primary key,
  type text not null,
  payload jsonb not null,
  created_at timestamptz not null default now(),
  published_at timestamptz
);

create index outbox_unpublished_idx on outbox (id) where published_at is null;
