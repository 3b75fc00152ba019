-- The Redis "epoch" each outbox row was published in: a random id the relay keeps in
-- Redis (`stream-epoch` under REDIS_PREFIX). Redis losing its data (FLUSHALL, a restart
-- without persistence) takes the key with the streams, and the next relay makes a new
-- one: a published row whose epoch is not the current one went to streams that no longer
-- exist, and is published again. Rows now stay until every consumer group is done with
-- them (workers/streams.ts), no longer a fixed day.
alter table outbox add column stream_epoch text;

-- Rows published before this migration carry no epoch, and were published under the old
-- rule (kept a day, whatever the consumers did): nearly all were consumed long ago.
-- Republishing them would notify every follower of a day of posts again; the stream
-- maintenance deletes them instead, a batch at a time, outside this migration (deleting
-- them here would hold the table's lock, taken by the ALTER above, for as long as that
-- takes, and every request that records an event would wait behind it).

-- Every poll tick of every relay looks for published rows of another epoch, and the
-- stream maintenance for those of the current epoch: published rows with an epoch only
-- (the existing rows add nothing to it, so it builds at once).
create index outbox_published_epoch_idx on outbox (stream_epoch)
  where published_at is not null and stream_epoch is not null;
