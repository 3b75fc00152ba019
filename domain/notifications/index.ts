/** What other domains may use of the notifications domain: its step of an account deletion. */
export { notificationsDeletion } from './deletion.ts';
