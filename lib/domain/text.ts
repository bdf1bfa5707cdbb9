/**
 * Text for people to read on a terminal: user-supplied strings (account ids, reasons, CSV cells, venue
 * errors, file names) shown as they are, never executed. Pure.
 */

/**
 * C0 and C1 control characters (ESC, CR, BEL, DEL, the 8-bit CSI U+009B …) and the bidi embeddings,
 * overrides and isolates (U+202A–U+202E, U+2066–U+2069), which can clear the screen, set the window title,
 * overwrite a line or reorder what a reader sees.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: as above, less the line feed.
const UNSAFE_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

const visible = (character: string) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`;

/**
 * `text` with every control character and bidi override written as a visible `\uXXXX` escape (the JSON
 * spelling, so an id reads as it would be typed in an accounts file). For display only: not reversible.
 *
 * @example
 * forTerminal('\u001b[2J\u001b]0;pwn\u0007'); // '\\u001b[2J\\u001b]0;pwn\\u0007'
 */
export function forTerminal(text: string): string {
  return text.replace(UNSAFE, visible);
}

/**
 * As `forTerminal`, but line breaks stay line breaks: for whole reports and messages qmt composed. Applied
 * to JSON text it keeps the JSON valid and its meaning unchanged (`\uXXXX` is a JSON escape, and JSON text
 * holds raw control characters only inside strings, where JSON.stringify leaves C1 and bidi ones raw).
 *
 * @example
 * linesForTerminal('line 1\nline\u001b[2J 2'); // 'line 1\nline\\u001b[2J 2'
 */
export function linesForTerminal(text: string): string {
  return text.replace(UNSAFE_BUT_NEWLINE, visible);
}

/**
 * `text` cut to at most `maxLength` characters at the last word boundary, ending in '…' when cut; a single
 * word longer than that is cut where it must. Never splits a surrogate pair.
 *
 * @example
 * cutAtWord('binance returned HTTP 503: upstream connect error', 30); // 'binance returned HTTP 503:…'
 */
export function cutAtWord(text: string, maxLength: number): string {
  if (text.length <= maxLength) return text;
  const budget = Math.max(0, maxLength - 1);
  const lastSpace = text.slice(0, budget + 1).search(/\s\S*$/);
  // A boundary in the first half would throw most of the text away: cut the long word instead.
  let end = lastSpace > budget / 2 ? lastSpace : budget;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1; // a high surrogate without its pair
  return `${text.slice(0, end).trimEnd()}…`;
}
