-- Photos: an uploaded image belongs to its uploader until it is attached to one
-- post. Objects in storage are named from the photo id:
--   uploads/<id>               the original of a presigned upload (never served)
--   photos/<id>/{thumb,small,large}.webp   the processed, metadata-free variants
create table photos (
  id uuid primary key default gen_uuid_v7(),
  owner_id uuid not null references users (id) on delete cascade,
  status text not null check (status in ('pending', 'ready')),
  -- what a presigned upload promised to send
  declared_type text,
  declared_size integer,
  width integer,
  height integer,
  post_id uuid references posts (id) on delete set null,
  position smallint,
  created_at timestamptz not null default now(),
  ready_at timestamptz,
  check ((post_id is null) = (position is null))
);

create index photos_owner_idx on photos (owner_id, id desc);
create index photos_post_idx on photos (post_id, position) where post_id is not null;
-- the orphan sweep: photos never attached
create index photos_unattached_idx on photos (created_at) where post_id is null;

-- Objects to remove from storage, retried until the store confirms. Written in
-- the same transaction as the rows that referenced them, so none is forgotten.
create table storage_deletions (
  key text primary key,
  enqueued_at timestamptz not null default now(),
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  last_error text
);

create index storage_deletions_due_idx on storage_deletions (next_attempt_at);
