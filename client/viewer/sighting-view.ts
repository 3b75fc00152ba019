// How one sighting reads to a person: kind icon, what it is, when, by whom, and whether its
// place is obscured. Shared by the markers and the side list.
import type { Post, PostKind } from '../../contract/index.ts';

// Drawn here, not taken from an emoji font: many machines (and headless browsers) have none.
const svg = (body: string) =>
  `<svg viewBox="0 0 24 24" width="16" height="16" fill="currentColor" aria-hidden="true">${body}</svg>`;
/** Each kind's icon: a paw print for pets, a cat's head for strays, a tree for wildlife. */
export const KIND_ICON: Record<PostKind, string> = {
  pet: svg(
    '<ellipse cx="12" cy="16" rx="5" ry="4.2"/><ellipse cx="6" cy="10" rx="2" ry="2.6"/>' +
      '<ellipse cx="10" cy="6.5" rx="2" ry="2.6"/><ellipse cx="14" cy="6.5" rx="2" ry="2.6"/>' +
      '<ellipse cx="18" cy="10" rx="2" ry="2.6"/>',
  ),
  stray: svg('<path d="M4 3l5 5h6l5-5v10a8 8 0 0 1-16 0z"/>'),
  wild: svg('<path d="M12 2l6 8h-3l5 7h-7v5h-2v-5H4l5-7H6z"/>'),
};
const KIND_NAME: Record<PostKind, string> = { pet: 'Pet', stray: 'Stray', wild: 'Wild animal' };

export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** "tabby cat", or the kind when no species was given. */
export const titleOf = (post: Post) => post.species?.trim() || KIND_NAME[post.kind];

/** "Ana (@ana)", or "unknown user" once the author deleted the account. */
export const authorOf = (post: Post) =>
  post.author ? `${post.author.displayName} (@${post.author.handle})` : 'unknown user';

const UNITS: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
];
const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

/** "5 minutes ago", "yesterday"; "just now" under a minute. */
export function ago(iso: string, now = Date.now()): string {
  const ms = new Date(iso).getTime() - now;
  for (const [unit, size] of UNITS) {
    if (Math.abs(ms) >= size) return relative.format(Math.round(ms / size), unit);
  }
  return 'just now';
}

export const isObscured = (post: Post) => post.geoprivacy === 'obscured';

/** The marker's badge: the kind icon in its colour, dashed when obscured. */
export function badgeHtml(post: Post): string {
  return (
    `<span data-post-id="${escapeHtml(post.id)}" data-kind="${post.kind}" ` +
    `data-obscured="${isObscured(post)}" title="${escapeHtml(titleOf(post))}">` +
    `${KIND_ICON[post.kind]}</span>`
  );
}

/** The popup: photo, what, body, when and by whom; the obscured note when it applies. */
export function popupHtml(post: Post): string {
  const photo = post.photos[0];
  const when = new Date(post.observedAt);
  return [
    '<div class="sighting-popup">',
    photo ? `<img src="${escapeHtml(photo.urls.thumb)}" alt="" loading="lazy">` : '',
    `<b data-kind="${post.kind}">${KIND_ICON[post.kind]} ${escapeHtml(titleOf(post))}</b>`,
    post.body ? `<div>${escapeHtml(post.body)}</div>` : '',
    `<div class="meta" title="${escapeHtml(when.toLocaleString())}">` +
      `seen ${escapeHtml(ago(post.observedAt))} · by ${escapeHtml(authorOf(post))}</div>`,
    isObscured(post)
      ? '<div class="obscured">Location obscured: shown at the centre of its area.</div>'
      : '',
    '</div>',
  ].join('');
}
