-- Accounts: users, sessions (one per login: the "family" of its refresh tokens)
-- and the refresh tokens themselves, stored only as hashes.

-- Time-ordered UUIDs (version 7): unique without coordination and ordered by
-- creation time, so they index well and serve as keyset cursors.
create or replace function gen_uuid_v7() returns uuid
language plpgsql volatile parallel safe as $$
declare
  ms bigint := floor(extract(epoch from clock_timestamp()) * 1000);
  bytes bytea := uuid_send(gen_random_uuid());
begin
  bytes := overlay(bytes placing substring(int8send(ms) from 3) from 1 for 6);
  -- version 7 in the high nibble of byte 6, variant 0b10 in the top bits of byte 8
  bytes := set_byte(bytes, 6, (get_byte(bytes, 6) & 15) | 112);
  bytes := set_byte(bytes, 8, (get_byte(bytes, 8) & 63) | 128);
  return encode(bytes, 'hex')::uuid;
end $$;

create table users (
  id uuid primary key default gen_uuid_v7(),
  email text not null,
  -- handles are stored lower-case; the rules are in server/features/auth/schema.ts
  handle text not null,
  display_name text not null,
  bio text not null default '',
  password_hash text not null,
  -- counters owned by the social graph and board domains, kept here so a user
  -- reads in one row
  follower_count integer not null default 0 check (follower_count >= 0),
  following_count integer not null default 0 check (following_count >= 0),
  post_count integer not null default 0 check (post_count >= 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz
);

create unique index users_email_key on users (lower(email));
create unique index users_handle_key on users (handle);

create table sessions (
  id uuid primary key default gen_uuid_v7(),
  user_id uuid not null references users (id) on delete cascade,
  created_at timestamptz not null default now(),
  last_used_at timestamptz not null default now(),
  -- sliding: every refresh moves it forward by the refresh token lifetime
  expires_at timestamptz not null,
  revoked_at timestamptz,
  revoked_reason text check (revoked_reason in ('logout', 'reuse', 'account_deleted', 'expired')),
  user_agent text,
  ip inet
);

create index sessions_user_idx on sessions (user_id) where revoked_at is null;
create index sessions_expires_idx on sessions (expires_at);

create table refresh_tokens (
  -- sha-256 of the token; the token itself is never stored
  token_hash bytea primary key,
  session_id uuid not null references sessions (id) on delete cascade,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  spent_at timestamptz
);

create index refresh_tokens_session_idx on refresh_tokens (session_id);
