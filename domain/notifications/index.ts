/**
 * What other domains may use of the notifications domain: its step of an account deletion,
 * and who loses an unread notification when a post goes.
 */
export { notificationsDeletion } from './deletion.ts';
export { unreadRecipientsOf } from './queries.ts';
