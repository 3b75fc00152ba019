-- One index fewer to maintain per inbox row (a fan-out writes thousands at a
-- time): unread lists and counts walk the user's (user_id, seq) index and
-- filter, which suits inboxes of any ordinary size.
drop index notifications_unread_idx;
