import { describe, expect, it } from 'vitest';
import { plainText } from './text.ts';

/** The definition before it was spelled without `\p{Cc}` and the `u` flag. */
const original = (allow: string) =>
  new RegExp(`^(?:[^\\p{Cc}\\u202A-\\u202E\\u2066-\\u2069\\uFEFF]|[${allow}])*$`, 'u');

describe('plainText', () => {
  it('has no flags, so its published pattern is exactly its source', () => {
    for (const allow of ['', '\n', '\n\t'] as const) {
      expect(plainText(allow).flags).toBe('');
      expect(plainText(allow).toString()).toBe(`/${plainText(allow).source}/`);
    }
  });

  it('accepts exactly what the \\p{Cc} definition with the u flag accepted, and so does its pattern compiled with u', () => {
    const pieces: string[] = [];
    // Every code point (lone surrogates included), alone and between letters.
    for (let cp = 0; cp <= 0x10ffff; cp++) pieces.push(String.fromCodePoint(cp));
    const samples = [
      ...pieces,
      ...['\u0000', '\u202E', '\uFEFF', '\uD83D', '\uDC08', '🐈‍⬛', '\n', '\t', '\r'].map(
        (c) => `a${c}b`,
      ),
      'گربه‌های تهران',
      'Cats 🐈‍⬛ of Tehran',
      '\uD83D\uD83D',
    ];
    for (const allow of ['', '\n', '\n\t'] as const) {
      const now = plainText(allow);
      const before = original(allow);
      const published = new RegExp(now.source, 'u');
      const differ = samples.filter(
        (s) => now.test(s) !== before.test(s) || published.test(s) !== before.test(s),
      );
      expect(differ.map((s) => [...s].map((c) => c.codePointAt(0)?.toString(16)))).toEqual([]);
    }
  });
});
