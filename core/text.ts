/**
 * The refused characters as a class body: the control characters (`\p{Cc}` is exactly
 * U+0000–U+001F and U+007F–U+009F), the bidi overrides and isolates, the BOM. Spelled
 * as ranges, not `\p{Cc}`, so the expression needs no flag: the OpenAPI generator
 * (@asteasolutions/zod-to-openapi) publishes a regex as its `toString()` minus the
 * slashes, which leaves flags behind as a literal `/u` that no string can match.
 * Every refused character is in the BMP and none is a surrogate, so the expression
 * accepts the same strings with and without the `u` flag: the published `pattern`
 * means the same to a JSON Schema validator (which compiles it with `u`), to one
 * that does not, and to zod here.
 */
const REFUSED = '\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069\\uFEFF';

/**
 * Which characters free text may hold. Refused: control characters (other than
 * the whitespace a field allows), the invisible bidirectional overrides and
 * isolates that can make text read differently from what it is (U+202A–U+202E,
 * U+2066–U+2069), and the byte-order mark. Other format characters are fine:
 * the joiners inside emoji sequences (🐈‍⬛) and Persian words (U+200D, U+200C),
 * the marks of right-to-left text, and the tags of flag emoji.
 */
export function plainText(allow: '' | '\n' | '\n\t' = ''): RegExp {
  return new RegExp(`^(?:[^${REFUSED}]|[${allow}])*$`);
}

export const PLAIN_TEXT_MESSAGE = 'must not contain control characters or bidirectional overrides';
