/**
 * Makes text from the network safe to print on a terminal: control
 * characters, escape sequences and invisible formatting characters are shown
 * as visible notation instead of being interpreted.
 *
 *   ESC [ 2 J   → ^[[2J        (C0 controls and DEL in caret notation)
 *   U+009B      → <U+009B>     (C1 controls, which some terminals obey too)
 *   U+202E      → <U+202E>     (bidi overrides, zero-width and other format characters)
 *   U+2028      → <U+2028>     (line and paragraph separators)
 *   TAB         → a space
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\p{Cf}\u2028\u2029]/gu;

function show(ch: string): string {
  const code = ch.codePointAt(0) as number;
  if (code === 0x09) return ' ';
  if (code < 0x20) return `^${String.fromCharCode(code + 0x40)}`;
  if (code === 0x7f) return '^?';
  return `<U+${code.toString(16).toUpperCase().padStart(4, '0')}>`;
}

export function sanitize(text: string): string {
  return text.replace(UNSAFE, show);
}
