/** What other domains may use of the map domain: a bounding box and its SQL condition. */
export type { Bbox } from './geo.ts';
export { lngCondition } from './queries.ts';
