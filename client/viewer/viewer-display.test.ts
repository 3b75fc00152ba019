import { describe, expect, it } from 'vitest';
import { buildPostView } from '../../test/helpers/builders.ts';
import { classBreaks, classLabel, colourFor, legendRows } from './colour-scale.ts';
import { ago, authorOf, badgeHtml, popupHtml, titleOf } from './sighting-view.ts';

describe('the cells’ colour scale', () => {
  it('has round class bounds from 1 up to the largest count, at most six, light to dark', () => {
    expect(classBreaks(0)).toEqual([1]);
    expect(classBreaks(1)).toEqual([1]);
    expect(classBreaks(7)).toEqual([1, 2, 5]);
    expect(classBreaks(1_000)).toEqual([1, 5, 20, 50, 200, 1_000]);
    expect(classBreaks(123_456)).toHaveLength(6);
    expect(legendRows([1, 2, 5]).map((r) => r.label)).toEqual(['1', '2–4', '5+']);
    expect(classLabel([1, 5, 20], 1)).toBe('5–19');
  });

  it('gives each count its class’s colour, so busier cells are darker', () => {
    const breaks = classBreaks(100);
    expect(breaks).toEqual([1, 2, 5, 20, 50, 100]);
    const colours = [2, 4, 5, 99, 100].map((n) => colourFor(n, breaks));
    expect(colours[0]).toBe(colours[1]);
    expect(colours[1]).not.toBe(colours[2]);
    expect(colours[3]).not.toBe(colours[4]);
    expect(new Set(legendRows(breaks).map((r) => r.colour)).size).toBe(breaks.length);
  });
});

describe('a sighting as it reads on the map', () => {
  it('names the species, or the kind when none was given, and an unknown user once the author is gone', () => {
    const post = buildPostView({ species: 'red fox', kind: 'wild' });
    expect(titleOf(post)).toBe('red fox');
    expect(titleOf({ ...post, species: null })).toBe('Wild animal');
    expect(authorOf({ ...post, author: null })).toBe('unknown user');
    expect(popupHtml({ ...post, author: null })).toContain('by unknown user');
  });

  it('marks an obscured sighting on its badge and says so in its popup', () => {
    const post = buildPostView({ geoprivacy: 'obscured' });
    expect(badgeHtml(post)).toContain('data-obscured="true"');
    expect(popupHtml(post)).toContain('Location obscured');
    expect(popupHtml({ ...post, geoprivacy: 'open' })).not.toContain('Location obscured');
  });

  it('escapes what users wrote', () => {
    const post = buildPostView({ species: '<img src=x onerror=alert(1)>', body: '"><script>' });
    expect(popupHtml(post)).not.toMatch(/<img src=x|<script>/);
    expect(badgeHtml(post)).not.toContain('<img src=x');
  });

  it('tells the time as a person would', () => {
    const now = Date.parse('2026-06-01T12:00:00Z');
    expect(ago('2026-06-01T11:59:30Z', now)).toBe('just now');
    expect(ago('2026-06-01T11:55:00Z', now)).toBe('5 minutes ago');
    expect(ago('2026-05-31T12:00:00Z', now)).toBe('yesterday');
  });
});
