/** What other domains may use of the social graph: its step of an account deletion. */
export { socialDeletion } from './deletion.ts';
