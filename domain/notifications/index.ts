/**
 * What other domains may use of the notifications domain: its step of an account deletion,
 * who loses an unread notification when a post goes, and a follower's sockets joining or
 * leaving a broadcast author's room.
 */

export { followBroadcastRoom } from './broadcast.ts';
export { notificationsDeletion } from './deletion.ts';
export { unreadRecipientsOf } from './queries.ts';
