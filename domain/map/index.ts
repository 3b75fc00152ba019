/** What other domains may use of the map domain: the SQL condition of a map view's box. */
export { lngCondition } from './queries.ts';
