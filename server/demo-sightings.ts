import type { Geoprivacy, PostKind } from '../contract/index.ts';

export interface DemoSighting {
  /** Which demo account posts it (server/demo-account.ts). */
  author: 'demo' | 'friend';
  kind: PostKind;
  species: string;
  body: string;
  location: { lat: number; lng: number };
  geoprivacy: Geoprivacy;
  /** When it was posted, in minutes before the seed runs. */
  minutesAgo: number;
}

const HOUR = 60;
const DAY = 24 * HOUR;

/**
 * The demo's sightings: around central Lisbon (38.72, -9.14), all within 5 km; pets,
 * strays and wildlife; one obscured (a pet at home) and one private; posted from a
 * month ago to a few minutes ago, so that "today", "this week" and "all" each show
 * a different set.
 */
export const DEMO_SIGHTINGS: readonly DemoSighting[] = [
  {
    author: 'friend',
    kind: 'wild',
    species: 'white stork',
    body: 'A white stork circling over Bela Vista, then landing on a lamp post by the lake.',
    location: { lat: 38.7535, lng: -9.1155 },
    geoprivacy: 'open',
    minutesAgo: 30 * DAY,
  },
  {
    author: 'demo',
    kind: 'stray',
    species: 'tabby cat',
    body: 'Skinny tabby on the steps below the Sé. Someone leaves water out for her.',
    location: { lat: 38.7118, lng: -9.13 },
    geoprivacy: 'open',
    minutesAgo: 21 * DAY,
  },
  {
    author: 'demo',
    kind: 'wild',
    species: 'red fox',
    body: 'A red fox crossed the trail at dusk in Monsanto, in no hurry at all.',
    location: { lat: 38.73, lng: -9.185 },
    geoprivacy: 'open',
    minutesAgo: 13 * DAY,
  },
  {
    author: 'friend',
    kind: 'wild',
    species: 'yellow-legged gull',
    body: "A gull took a pastel de nata right out of a tourist's hand at Praça do Comércio.",
    location: { lat: 38.7075, lng: -9.1364 },
    geoprivacy: 'open',
    minutesAgo: 9 * DAY,
  },
  {
    author: 'demo',
    kind: 'pet',
    species: 'border collie',
    body: 'Border collie herding a flock of very confused pigeons in Parque Eduardo VII.',
    location: { lat: 38.729, lng: -9.153 },
    geoprivacy: 'open',
    minutesAgo: 6 * DAY,
  },
  {
    author: 'demo',
    kind: 'wild',
    species: 'gecko',
    body: 'Moorish gecko on the warm wall by the greenhouse in the Botanical Garden.',
    location: { lat: 38.7176, lng: -9.15 },
    geoprivacy: 'open',
    minutesAgo: 4 * DAY,
  },
  {
    author: 'demo',
    kind: 'pet',
    species: 'tabby cat',
    body: 'Our tabby watching the street from the window, as every afternoon.',
    location: { lat: 38.7165, lng: -9.149 },
    // Home: the map shows only the coarse cell around it.
    geoprivacy: 'obscured',
    minutesAgo: 3 * DAY,
  },
  {
    author: 'friend',
    kind: 'stray',
    species: 'black cat',
    body: 'Three strays fed by the café owner in Santos; the black one runs the show.',
    location: { lat: 38.7075, lng: -9.155 },
    geoprivacy: 'open',
    minutesAgo: 2 * DAY,
  },
  {
    author: 'demo',
    kind: 'wild',
    species: 'mallard',
    body: 'A mallard with eight ducklings on the pond at Campo Grande.',
    location: { lat: 38.752, lng: -9.153 },
    geoprivacy: 'open',
    minutesAgo: DAY + 2 * HOUR,
  },
  {
    author: 'demo',
    kind: 'wild',
    species: 'gecko',
    body: 'A gecko lives behind our balcony lamp. Keeping this spot to myself.',
    location: { lat: 38.718, lng: -9.165 },
    // On nobody's map but the author's.
    geoprivacy: 'private',
    minutesAgo: 5 * HOUR,
  },
  {
    author: 'demo',
    kind: 'stray',
    species: 'tabby cat',
    body: 'Young tabby asleep under the bandstand in Jardim da Estrela.',
    location: { lat: 38.7137, lng: -9.16 },
    geoprivacy: 'open',
    minutesAgo: 90,
  },
  {
    author: 'demo',
    kind: 'pet',
    species: 'dachshund',
    body: 'A dachshund in a yellow raincoat at the Graça viewpoint.',
    location: { lat: 38.717, lng: -9.131 },
    geoprivacy: 'open',
    minutesAgo: 20,
  },
];
