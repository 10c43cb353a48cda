// Byte counting for the stream parser's bounds: data arrives as JavaScript strings (the socket
// decodes UTF-8), while the limits are in bytes on the wire, as RFC 6120 §13.12 and XEP-0478
// count them.

/** UTF-8 length of a string (a lone surrogate counts as the 3 bytes of U+FFFD, as it is sent). */
export function utf8Length(s: string): number {
  return Buffer.byteLength(s, "utf8");
}

/**
 * How many code units of `s`, from `start` and at most `max` of them, fit in `bytes` bytes of
 * UTF-8, without splitting a surrogate pair. A JavaScript loop, but only run on the last slice
 * before a bound, so it never looks at more than the bound.
 */
export function unitsWithin(s: string, start: number, max: number, bytes: number): number {
  let used = 0,
    n = 0;
  while (n < max) {
    const c = s.charCodeAt(start + n);
    const pair = c >= 0xd800 && c <= 0xdbff && n + 1 < max;
    const size = pair ? 4 : c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
    if (used + size > bytes) break;
    used += size;
    n += pair ? 2 : 1;
  }
  return n;
}

/** True when the code unit at `i` is the first half of a surrogate pair. */
export function isHighSurrogate(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c >= 0xd800 && c <= 0xdbff;
}

/** The index of the first character at or after `from` that is not XML whitespace (S: space, tab, CR, LF). */
export function whitespaceRun(s: string, from: number): number {
  let i = from;
  for (;;) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x09 && c !== 0x0d) return i; // NaN past the end
    i++;
  }
}
