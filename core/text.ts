/**
 * Which characters free text may hold. Refused: control characters (other than
 * the whitespace a field allows), the invisible bidirectional overrides and
 * isolates that can make text read differently from what it is (U+202A–U+202E,
 * U+2066–U+2069), and the byte-order mark. Other format characters are fine:
 * the joiners inside emoji sequences (🐈‍⬛) and Persian words (U+200D, U+200C),
 * the marks of right-to-left text, and the tags of flag emoji.
 */
export function plainText(allow: '' | '\n' | '\n\t' = ''): RegExp {
  return new RegExp(`^(?:[^\\p{Cc}\\u202A-\\u202E\\u2066-\\u2069\\uFEFF]|[${allow}])*$`, 'u');
}

export const PLAIN_TEXT_MESSAGE = 'must not contain control characters or bidirectional overrides';
