// Client-supplied names (SASL2 software, device and id, bound resources, OAuth client names)
// shown where HTML escaping does not apply — the admin shell's table on a terminal, the
// new-client notice in a chat window. There a line break forges a row or a line of the
// message, a C1 control is a terminal escape (U+009B is CSI), and a bidi override reorders
// what follows it (Trojan Source, CVE-2021-42574). XML 1.0 lets all of these through, so
// they are replaced here, at display time, and the stored value stays what the client sent.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** The text with every line break, control and bidi formatting character shown as U+FFFD. */
export function oneLine(s: string): string {
  return s.replace(UNSAFE, "\uFFFD");
}
