-- The live map's time window ("today", "this week"): the located posts posted since
-- an instant, with their public point, read from the index alone. The map counts
-- such a window by walking it from its start (domain/map/window-counts.ts), so the
-- work grows with the posts in the window, not with the years of posts in the box.
create index posts_created_pub_point_idx on posts (created_at, pub_lat, pub_lng)
  include (id) where pub_lat is not null;
