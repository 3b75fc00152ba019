/** What other domains may use of the photos domain: a post's photos go with it, and how one is shown. */

export { photosDeletion } from './deletion.ts';
export { deletePostPhotos } from './queries.ts';
export { toPhoto } from './schema.ts';
