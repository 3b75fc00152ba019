/** What other domains may use of the photos domain: a post's photos (attached, replaced, deleted with it), how one is shown, and its deletion step. */

export { photosDeletion } from './deletion.ts';
export { attachPhotos, deletePostPhotos, replacePostPhotos } from './queries.ts';
export { toPhoto } from './schema.ts';
