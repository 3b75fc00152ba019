// The newest sightings in view, beside the map (a sheet at the bottom on a phone): read when
// the view or the filters change, and kept live as sightings arrive and leave.
import type { Post } from '../../contract/index.ts';
import { ago, authorOf, escapeHtml, isObscured, KIND_ICON, titleOf } from './sighting-view.ts';

/** How many the list shows. */
export const SIDE_LIST_SIZE = 20;

export interface SideList {
  /** The view's newest sightings, newest first. */
  set(posts: Post[]): void;
  /** A live one, on top (once). */
  add(post: Post): void;
  remove(postId: string): void;
  retain(keep: (post: Post) => boolean): void;
}

const $ = (id: string) => document.getElementById(id)!;

export function createSideList(onPick: (post: Post) => void): SideList {
  let posts: Post[] = [];
  const list = $('side-list');
  const side = $('side');
  $('side-toggle').addEventListener('click', () => {
    side.dataset.open = side.dataset.open === 'true' ? 'false' : 'true';
  });

  const item = (post: Post, fresh: boolean) => {
    const li = document.createElement('li');
    li.dataset.postId = post.id;
    li.dataset.kind = post.kind;
    li.tabIndex = 0;
    if (fresh) li.className = 'fresh';
    const photo = post.photos[0];
    li.innerHTML =
      (photo
        ? `<img class="thumb" src="${escapeHtml(photo.urls.thumb)}" alt="" loading="lazy">`
        : `<span class="thumb" aria-hidden="true">${KIND_ICON[post.kind]}</span>`) +
      `<span class="what">${escapeHtml(titleOf(post))}</span>` +
      `<span class="meta" title="${escapeHtml(new Date(post.createdAt).toLocaleString())}">` +
      `${escapeHtml(ago(post.createdAt))} · ${escapeHtml(authorOf(post))}</span>` +
      `<span class="meta">${isObscured(post) ? 'location obscured' : escapeHtml(post.body.slice(0, 80))}</span>`;
    const pick = () => onPick(post);
    li.addEventListener('click', pick);
    li.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') pick();
    });
    return li;
  };

  const render = (fresh?: string) => {
    list.replaceChildren(...posts.map((p) => item(p, p.id === fresh)));
    $('side-count').textContent = String(posts.length);
    $('side-empty').hidden = posts.length > 0;
  };

  return {
    set(next) {
      posts = next.slice(0, SIDE_LIST_SIZE);
      render();
    },
    add(post) {
      if (posts.some((p) => p.id === post.id)) return;
      posts = [post, ...posts].slice(0, SIDE_LIST_SIZE);
      render(post.id);
    },
    remove(postId) {
      const before = posts.length;
      posts = posts.filter((p) => p.id !== postId);
      if (posts.length !== before) render();
    },
    retain(keep) {
      posts = posts.filter(keep);
      render();
    },
  };
}
