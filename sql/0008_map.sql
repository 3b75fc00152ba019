-- The live map's projection of the board, kept by the map worker from domain
-- events: where each located, non-private post counts (its public point's cell
-- at every map resolution), and the counts per cell, so that a map query reads
-- aggregates instead of scanning points.
create table map_points (
  post_id uuid primary key,
  kind text not null,
  -- public cell at each resolution of MAP_RESOLUTIONS (server/features/map/geo.ts), in order
  cells text[] not null,
  created_at timestamptz not null
);

create table map_cells (
  res smallint not null,
  cell text not null,
  kind text not null,
  count integer not null check (count >= 0),
  -- when the most recent sighting counted here was posted
  last_at timestamptz not null,
  center_lat double precision not null,
  center_lng double precision not null,
  primary key (res, cell, kind)
);

create index map_cells_center_idx on map_cells (res, center_lat, center_lng);

-- sightings in a box: the public point
create index posts_pub_point_idx on posts (pub_lat, pub_lng) where pub_lat is not null;
