-- Account deletion: one user.deleted event, each domain cleaning up on its own.
-- Progress per account and domain, so a stuck step is seen (npm run deletions).
create table account_deletions (
  user_id uuid primary key,
  requested_at timestamptz not null default now()
);

create table account_deletion_steps (
  user_id uuid not null references account_deletions (user_id) on delete cascade,
  domain text not null,
  done_at timestamptz not null default now(),
  primary key (user_id, domain)
);

-- A deleted account's handle is not given to anyone else for a while
-- (HANDLE_COOLING_OFF), so nobody can pass for the person who left.
create table handle_holds (
  handle text primary key,
  until timestamptz not null
);
