// XMPP addresses (RFC 7622): parsing, validation and normalisation.
//
//   localpart    PRECIS UsernameCaseMapped profile (RFC 8265 §3.3) of the IdentifierClass
//                (RFC 8264), plus the eight code points RFC 7622 §3.3.1 forbids:  " & ' / : < > @
//   domainpart   IDNA2008 (RFC 5890-5893) with the RFC 5895 / RFC 7622 §3.2 mappings, or an
//                IP literal
//   resourcepart PRECIS OpaqueString profile (RFC 8265 §4.2) of the FreeformClass
//
// Every part is 1..1023 bytes of UTF-8 after normalisation. No library on npm implements
// PRECIS, so the derived-property rules of RFC 8264 §9 are evaluated here with Unicode
// property escapes and String.prototype.normalize. Where the JavaScript engine offers no
// Unicode property (Bidi_Class, Joining_Type, Canonical_Combining_Class) the rule is
// approximated; each approximation is marked "APPROXIMATION" below.
//
// Not implemented, or only approximated:
//  - Bidi_Class (RFC 5893 Bidi Rule) is guessed from code-point blocks and general category.
//  - Joining_Type (ZWNJ context rule) is guessed from script; Virama is a hand-written list.
//  - IDNA2008's "Unstable" property (NFKC_Casefold) is approximated by HasCompat after
//    lowercasing, so e.g. U+0345 or Cherokee small letters pass in a domain label.
//  - The repertoire follows the Unicode version of the running Node (ICU), not the IANA
//    PRECIS tables' Unicode 6.3; newly assigned code points are accepted.
//  - IPvFuture literals and IPv6 zone identifiers are rejected; labels are plain LDH only
//    (no "_"), as IDNA2008 requires; an all-numeric top label must form an IPv4 address.
//  - No XEP-0106 unescaping: "foo\20bar" is an ordinary localpart.
//
// Deliberate reading of the RFC: RFC 7622 §3.5 lists "juliet@example.com/ foo" (leading
// space in the resourcepart) as invalid, but no rule of OpaqueString forbids it (spaces are
// FreeformClass PVALID and OpaqueString has no directionality or trimming rule); like other
// implementations we accept it rather than drop stanzas that other servers route.

/** Maximum size of each of the three parts, in bytes of UTF-8 (RFC 7622 §3.2-3.4). */
export const MAX_PART_BYTES = 1023;

// Inputs longer than this (UTF-16 units) cannot normalise to ≤ 1023 bytes: the mappings
// shrink a string by far less than a factor of four. Checked before any Unicode work so a
// hostile peer cannot make us normalise megabytes.
const MAX_PART_INPUT = 4 * MAX_PART_BYTES;
const MAX_JID_INPUT = 3 * MAX_PART_INPUT + 2;

// ---------------------------------------------------------------------------------------
// The JID value
// ---------------------------------------------------------------------------------------

/** An XMPP address. The constructor trusts its arguments to be normalised already; build
 *  JIDs from untrusted text with parseJid() or the normalise*() functions. */
export class JID {
  readonly local?: string;
  readonly domain: string;
  readonly resource?: string;
  #full?: string;
  #bare?: string;

  constructor(local: string | undefined, domain: string, resource?: string) {
    if (local !== undefined && local !== "") this.local = local;
    this.domain = domain;
    if (resource !== undefined && resource !== "") this.resource = resource;
  }

  /** The JID without its resource (this very object when it has none). */
  bare(): JID {
    return this.resource === undefined ? this : new JID(this.local, this.domain);
  }

  isBare(): boolean {
    return this.resource === undefined;
  }

  /** local@domain, or domain. */
  get bareString(): string {
    return (this.#bare ??= this.local === undefined ? this.domain : `${this.local}@${this.domain}`);
  }

  toString(): string {
    return (this.#full ??= this.resource === undefined ? this.bareString : `${this.bareString}/${this.resource}`);
  }

  equals(o: JID | undefined | null): boolean {
    return !!o && o.domain === this.domain && o.local === this.local && o.resource === this.resource;
  }
}

// ---------------------------------------------------------------------------------------
// Parsing (RFC 7622 §3.1) with a small LRU cache: parseJid runs on every stanza's to/from.
// ---------------------------------------------------------------------------------------

const CACHE_SIZE = 1000;
const cache = new Map<string, JID>();

/** Parses and normalises a JID; undefined when it is not a valid JID. */
export function parseJid(s: string): JID | undefined {
  if (typeof s !== "string" || s.length === 0 || s.length > MAX_JID_INPUT) return undefined;
  const hit = cache.get(s);
  if (hit !== undefined) {
    cache.delete(s);
    cache.set(s, hit);
    return hit;
  }
  // Separators are found before any mapping (RFC 7622 §3.1, implementation note), so a
  // fullwidth ＠ or ／ can never act as one: it maps to a code point the part rejects.
  let rest = s;
  let resource: string | undefined;
  const slash = s.indexOf("/");
  if (slash >= 0) {
    resource = normaliseResource(s.slice(slash + 1));
    if (resource === undefined) return undefined;
    rest = s.slice(0, slash);
  }
  let local: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    local = normaliseLocal(rest.slice(0, at));
    if (local === undefined) return undefined;
    rest = rest.slice(at + 1);
  }
  const domain = normaliseDomain(rest);
  if (domain === undefined) return undefined;
  const jid = new JID(local, domain, resource);
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  cache.set(s, jid);
  return jid;
}

// ---------------------------------------------------------------------------------------
// Localpart: UsernameCaseMapped (RFC 8265 §3.3) + RFC 7622 §3.3.1
// ---------------------------------------------------------------------------------------

const ASCII_GRAPHIC = /^[\x21-\x7e]+$/;
const ASCII_PRINTABLE = /^[\x20-\x7e]+$/;
const LOCAL_FORBIDDEN = /["&'/:<>@]/;

/** Enforces the localpart rules; returns the normalised localpart or undefined. */
export function normaliseLocal(s: string): string | undefined {
  if (s.length === 0 || s.length > MAX_PART_INPUT) return undefined;
  if (ASCII_GRAPHIC.test(s)) {
    // Fast path: all of ASCII 0x21-0x7E is IdentifierClass PVALID; only RFC 7622's eight
    // are excluded, and case mapping of ASCII is ASCII.
    if (LOCAL_FORBIDDEN.test(s) || s.length > MAX_PART_BYTES) return undefined;
    return s.toLowerCase();
  }
  const out = untilStable(s, (x) => caseMap(widthMap(x)).normalize("NFC"));
  if (out === undefined || out.length === 0) return undefined;
  if (LOCAL_FORBIDDEN.test(out)) return undefined;
  if (!checkClass(out, "id", false)) return undefined;
  if (!bidiRuleOk(out)) return undefined;
  if (utf8Length(out) > MAX_PART_BYTES) return undefined;
  return out;
}

// ---------------------------------------------------------------------------------------
// Resourcepart: OpaqueString (RFC 8265 §4.2)
// ---------------------------------------------------------------------------------------

/** Any Zs other than U+0020. */
const NON_ASCII_SPACE = /[^\P{Zs}\x20]/gu;

/** Enforces the resourcepart rules; returns the normalised resourcepart or undefined. Case
 *  is preserved; spaces (leading and trailing too) are allowed. */
export function normaliseResource(s: string): string | undefined {
  if (s.length === 0 || s.length > MAX_PART_INPUT) return undefined;
  if (ASCII_PRINTABLE.test(s)) return s.length > MAX_PART_BYTES ? undefined : s;
  // OpaqueString: no width mapping; additional mapping non-ASCII space → U+0020; no case
  // mapping; NFC; no directionality rule (RFC 8265 §4.2.1 deems it inapplicable).
  const out = untilStable(s, (x) => x.replace(NON_ASCII_SPACE, " ").normalize("NFC"));
  if (out === undefined || out.length === 0) return undefined;
  if (!checkClass(out, "free", false)) return undefined;
  if (utf8Length(out) > MAX_PART_BYTES) return undefined;
  return out;
}

// ---------------------------------------------------------------------------------------
// Domainpart: RFC 7622 §3.2 (IDNA2008 with RFC 5895 mappings, or IP literal)
// ---------------------------------------------------------------------------------------

const LDH_LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
/** A plain lowercase LDH host name: the overwhelmingly common case. */
const PLAIN_LDH = new RegExp(`^(?:${LDH_LABEL}\\.)*${LDH_LABEL}$`);
const LDH_LABEL_RE = new RegExp(`^${LDH_LABEL}$`);
/** Some label has "--" in positions 3-4 (an A-label, or a reserved R-LDH label). */
const HYPHEN34 = /(?:^|\.)[^.]{2}--/;
const ALL_DIGITS_LAST_LABEL = /(?:^|\.)[0-9]+$/;
const IPV4 = /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$/;
const ASCII_ONLY = /^[\x00-\x7f]*$/;

/** Enforces the domainpart rules; returns the normalised domainpart (U-labels, lowercase,
 *  no trailing dot; IPv6 literals in RFC 5952 form, bracketed) or undefined. */
export function normaliseDomain(s: string): string | undefined {
  if (s.length === 0 || s.length > MAX_PART_INPUT) return undefined;
  if (s.charCodeAt(0) === 0x5b /* [ */) return normaliseIpLiteral(s);

  let d: string;
  if (ASCII_ONLY.test(s)) {
    d = s.toLowerCase();
  } else {
    // RFC 5895 / RFC 7622 §3.2.1: width mapping, lowercase, NFC, ideographic full stop
    // (U+3002; U+FF0E and U+FF61 reach it or "." through width mapping) → ".".
    d = caseMap(widthMap(s))
      .normalize("NFC")
      .replace(/\u3002/g, ".");
  }
  // RFC 7622 §3.2: strip one trailing label separator.
  if (d.charCodeAt(d.length - 1) === 0x2e) d = d.slice(0, -1);
  if (d.length === 0 || d.length > MAX_PART_BYTES) return undefined;

  if (PLAIN_LDH.test(d) && !HYPHEN34.test(d)) {
    if (ALL_DIGITS_LAST_LABEL.test(d) && !IPV4.test(d)) return undefined;
    return d;
  }
  return normaliseIdn(d);
}

function normaliseIpLiteral(s: string): string | undefined {
  // IP-literal = "[" IPv6address "]". IPvFuture and zone identifiers are not accepted.
  if (s.charCodeAt(s.length - 1) !== 0x5d || s.length > 64) return undefined;
  const inner = s.slice(1, -1);
  if (!/^[0-9A-Fa-f:.]+$/.test(inner) || !inner.includes(":")) return undefined;
  try {
    const host = new URL(`http://[${inner}]/`).hostname; // canonical RFC 5952 text, bracketed
    return host.startsWith("[") ? host : undefined;
  } catch {
    return undefined;
  }
}

/** The general path for domains holding U-labels, A-labels or anything unusual. */
function normaliseIdn(d: string): string | undefined {
  const labels = d.split(".");
  const out: string[] = [];
  for (const raw of labels) {
    if (raw.length === 0) return undefined;
    let label = raw;
    if (ASCII_ONLY.test(label)) {
      if (!LDH_LABEL_RE.test(label)) return undefined;
      if (label.charCodeAt(2) === 0x2d && label.charCodeAt(3) === 0x2d) {
        // "xn--" is an A-label (RFC 7622 §3.2.1: convert it to a U-label); any other
        // "??--" is a reserved R-LDH label.
        if (!label.startsWith("xn--")) return undefined;
        const u = aLabelToULabel(label);
        if (u === undefined) return undefined;
        label = u;
      } else {
        out.push(label);
        continue;
      }
    }
    if (!uLabelOk(label)) return undefined;
    out.push(label);
  }
  const last = out[out.length - 1]!;
  if (/^[0-9]+$/.test(last) && !IPV4.test(out.join("."))) return undefined;
  if (!domainBidiOk(out)) return undefined;
  const result = out.join(".");
  if (utf8Length(result) > MAX_PART_BYTES) return undefined;
  return result;
}

/** RFC 5891 §4.2.3 / §5.4 checks of one (already mapped, NFC, lowercase) U-label. */
function uLabelOk(label: string): boolean {
  if (label.startsWith("-") || label.endsWith("-")) return false;
  const chars = Array.from(label);
  if (chars[2] === "-" && chars[3] === "-") return false;
  if (/^\p{M}/u.test(label)) return false; // §4.2.3.2: no leading combining mark
  if (!checkClass(label, "id", true)) return false;
  // The A-label form must fit in a DNS label (RFC 5890 §2.3.2.1).
  const ace = punycodeEncode(label);
  return ace !== undefined && ace.length + 4 <= 63;
}

function aLabelToULabel(aLabel: string): string | undefined {
  const u = punycodeDecode(aLabel.slice(4));
  if (u === undefined || ASCII_ONLY.test(u)) return undefined;
  // The U-label must be in its mapped, normalised form already and must encode back to the
  // same A-label (RFC 5891 §5.3).
  if (caseMap(u).normalize("NFC") !== u) return undefined;
  if (punycodeEncode(u) !== aLabel.slice(4)) return undefined;
  return u;
}

// ---------------------------------------------------------------------------------------
// Mappings
// ---------------------------------------------------------------------------------------

/** Code points with a <wide> or <narrow> decomposition whose NFKC equals that one-step
 *  decomposition. Left out: halfwidth Hangul U+FFA0-FFDC and U+FFE3, whose NFKC goes
 *  further than the decomposition mapping; unmapped they stay HasCompat and are rejected
 *  just as their mapped forms (compatibility jamo, U+00AF) would be. */
const WIDTH = /[\u3000\uFF01-\uFF9F\uFFE0-\uFFE2\uFFE4-\uFFEE]/g;

function widthMap(s: string): string {
  WIDTH.lastIndex = 0;
  return WIDTH.test(s) ? s.replace(WIDTH, (c) => c.normalize("NFKC")) : s;
}

/** Unicode toLowerCase() without the context-dependent Final_Sigma rule (as Go's
 *  x/text/secure/precis does), so "Σ" always becomes "σ" and ς stays distinct. */
function caseMap(s: string): string {
  return (s.includes("\u03a3") ? s.replace(/\u03a3/g, "\u03c3") : s).toLowerCase();
}

/** RFC 8264 §7: reapply the rules until the output is stable; give up (reject) if it has
 *  not settled after three further applications. */
function untilStable(s: string, rules: (x: string) => string): string | undefined {
  let cur = rules(s);
  for (let i = 0; i < 3; i++) {
    const next = rules(cur);
    if (next === cur) return cur;
    cur = next;
  }
  return undefined;
}

function utf8Length(s: string): number {
  return ASCII_ONLY.test(s) ? s.length : Buffer.byteLength(s, "utf8");
}

// ---------------------------------------------------------------------------------------
// PRECIS string classes (RFC 8264 §8-9), with the RFC 5892 exceptions and context rules
// ---------------------------------------------------------------------------------------

const enum Prop {
  PVALID,
  CONTEXTJ,
  CONTEXTO,
  DISALLOWED,
}

/** RFC 5892 §2.6 Exceptions (F), used by PRECIS too (RFC 8264 §9.6). */
const EXCEPTIONS = new Map<number, Prop>([
  [0x00df, Prop.PVALID],
  [0x03c2, Prop.PVALID],
  [0x06fd, Prop.PVALID],
  [0x06fe, Prop.PVALID],
  [0x0f0b, Prop.PVALID],
  [0x3007, Prop.PVALID],
  [0x00b7, Prop.CONTEXTO],
  [0x0375, Prop.CONTEXTO],
  [0x05f3, Prop.CONTEXTO],
  [0x05f4, Prop.CONTEXTO],
  [0x30fb, Prop.CONTEXTO],
  ...[0x0660, 0x0661, 0x0662, 0x0663, 0x0664, 0x0665, 0x0666, 0x0667, 0x0668, 0x0669].map((c) => [c, Prop.CONTEXTO] as [number, Prop]),
  ...[0x06f0, 0x06f1, 0x06f2, 0x06f3, 0x06f4, 0x06f5, 0x06f6, 0x06f7, 0x06f8, 0x06f9].map((c) => [c, Prop.CONTEXTO] as [number, Prop]),
  [0x0640, Prop.DISALLOWED],
  [0x07fa, Prop.DISALLOWED],
  [0x302e, Prop.DISALLOWED],
  [0x302f, Prop.DISALLOWED],
  [0x3031, Prop.DISALLOWED],
  [0x3032, Prop.DISALLOWED],
  [0x3033, Prop.DISALLOWED],
  [0x3034, Prop.DISALLOWED],
  [0x3035, Prop.DISALLOWED],
  [0x303b, Prop.DISALLOWED],
]);

/** Unassigned, surrogates, OldHangulJamo, PrecisIgnorableProperties, Controls: DISALLOWED in
 *  both classes (RFC 8264 §9.4, 9.5, 9.8, 9.9, 9.10; surrogates fall to §9.17 "Other"). */
const ALWAYS_DISALLOWED = /^[\p{Cn}\p{Cs}\p{Cc}\p{Default_Ignorable_Code_Point}\p{Noncharacter_Code_Point}\u1100-\u11FF\uA960-\uA97F\uD7B0-\uD7FF]$/u;
/** LetterDigits (§9.1): PVALID in both classes. */
const LETTER_DIGITS = /^[\p{Ll}\p{Lu}\p{Lo}\p{Nd}\p{Lm}\p{Mn}\p{Mc}]$/u;
/** OtherLetterDigits, Spaces, Symbols, Punctuation (§9.12-9.15): FreeformClass only. */
const FREE_ONLY = /^[\p{Lt}\p{Nl}\p{No}\p{Me}\p{Zs}\p{Sm}\p{Sc}\p{Sk}\p{So}\p{P}]$/u;

function derivedProperty(cp: number, ch: string, cls: "id" | "free", idna: boolean): Prop {
  const ex = EXCEPTIONS.get(cp);
  if (ex !== undefined) return ex;
  if (cp >= 0x21 && cp <= 0x7e) {
    // ASCII7 is PVALID in PRECIS; IDNA2008 admits only lowercase LDH.
    if (!idna) return Prop.PVALID;
    return (cp >= 0x61 && cp <= 0x7a) || (cp >= 0x30 && cp <= 0x39) || cp === 0x2d ? Prop.PVALID : Prop.DISALLOWED;
  }
  if (cp === 0x200c || cp === 0x200d) return Prop.CONTEXTJ;
  if (ALWAYS_DISALLOWED.test(ch)) return Prop.DISALLOWED;
  if (ch.normalize("NFKC") !== ch) return cls === "free" ? Prop.PVALID : Prop.DISALLOWED; // HasCompat
  if (LETTER_DIGITS.test(ch)) return Prop.PVALID;
  if (FREE_ONLY.test(ch)) return cls === "free" ? Prop.PVALID : Prop.DISALLOWED;
  return Prop.DISALLOWED;
}

/** True when every code point of s is allowed by the string class in its context. */
function checkClass(s: string, cls: "id" | "free", idna: boolean): boolean {
  const cps = Array.from(s, (c) => c.codePointAt(0)!);
  for (let i = 0; i < cps.length; i++) {
    const cp = cps[i]!;
    if (cp >= 0x20 && cp <= 0x7e) {
      if (cp === 0x20 ? cls === "id" : derivedProperty(cp, "", cls, idna) !== Prop.PVALID) return false;
      continue;
    }
    switch (derivedProperty(cp, String.fromCodePoint(cp), cls, idna)) {
      case Prop.PVALID:
        break;
      case Prop.CONTEXTJ:
        if (!contextJOk(cps, i)) return false;
        break;
      case Prop.CONTEXTO:
        if (!contextOOk(cps, i)) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

// APPROXIMATION: code points with Canonical_Combining_Class = Virama (9), hand-listed
// (JavaScript exposes no ccc). Covers the Indic, Southeast Asian and historic scripts of
// Unicode 15.
const VIRAMAS = new Set<number>([
  0x094d, 0x09cd, 0x0a4d, 0x0acd, 0x0b4d, 0x0bcd, 0x0c4d, 0x0ccd, 0x0d3b, 0x0d3c, 0x0d4d, 0x0dca, 0x0e3a, 0x0eba, 0x0f84, 0x1039, 0x103a, 0x1714, 0x1715,
  0x1734, 0x17d2, 0x1a60, 0x1b44, 0x1baa, 0x1bab, 0x1bf2, 0x1bf3, 0x2d7f, 0xa806, 0xa82c, 0xa8c4, 0xa953, 0xa9c0, 0xaaf6, 0xabed, 0x10a3f, 0x11046, 0x11070,
  0x1107f, 0x110b9, 0x11133, 0x11134, 0x111c0, 0x11235, 0x112ea, 0x1134d, 0x11442, 0x114c2, 0x115bf, 0x1163f, 0x116b6, 0x1172b, 0x11839, 0x1193d, 0x1193e,
  0x119e0, 0x11a34, 0x11a47, 0x11a99, 0x11c3f, 0x11d44, 0x11d45, 0x11d97, 0x11f41, 0x11f42,
]);

// APPROXIMATION of Joining_Type: a letter of a cursive-joining script counts as dual/left/
// right joining, a non-spacing or enclosing mark as transparent. Real Joining_Type data would
// also reject ZWNJ after right-joining-only letters (e.g. alef).
const JOINING_LETTER =
  /^(?=\p{L})[\p{Script=Arabic}\p{Script=Syriac}\p{Script=Nko}\p{Script=Mongolian}\p{Script=Mandaic}\p{Script=Manichaean}\p{Script=Psalter_Pahlavi}\p{Script=Adlam}\p{Script=Hanifi_Rohingya}\p{Script=Sogdian}\p{Script=Phags_Pa}\p{Script=Old_Uyghur}]$/u;
const TRANSPARENT = /^[\p{Mn}\p{Me}]$/u;

/** RFC 5892 Appendix A.1 (ZWNJ) and A.2 (ZWJ). */
function contextJOk(cps: number[], i: number): boolean {
  if (i > 0 && VIRAMAS.has(cps[i - 1]!)) return true;
  if (cps[i] === 0x200d) return false;
  let j = i - 1;
  while (j >= 0 && TRANSPARENT.test(String.fromCodePoint(cps[j]!))) j--;
  if (j < 0 || !JOINING_LETTER.test(String.fromCodePoint(cps[j]!))) return false;
  let k = i + 1;
  while (k < cps.length && TRANSPARENT.test(String.fromCodePoint(cps[k]!))) k++;
  return k < cps.length && JOINING_LETTER.test(String.fromCodePoint(cps[k]!));
}

const GREEK = /^\p{Script=Greek}$/u;
const HEBREW = /^\p{Script=Hebrew}$/u;
const KANA_HAN = /[\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Han}]/u;

/** RFC 5892 Appendix A.3-A.9. */
function contextOOk(cps: number[], i: number): boolean {
  const cp = cps[i]!;
  switch (cp) {
    case 0x00b7:
      return cps[i - 1] === 0x6c && cps[i + 1] === 0x6c; // l·l
    case 0x0375:
      return i + 1 < cps.length && GREEK.test(String.fromCodePoint(cps[i + 1]!));
    case 0x05f3:
    case 0x05f4:
      return i > 0 && HEBREW.test(String.fromCodePoint(cps[i - 1]!));
    case 0x30fb:
      return cps.some((c) => c !== 0x30fb && KANA_HAN.test(String.fromCodePoint(c)));
    default:
      if (cp >= 0x0660 && cp <= 0x0669) return !cps.some((c) => c >= 0x06f0 && c <= 0x06f9);
      if (cp >= 0x06f0 && cp <= 0x06f9) return !cps.some((c) => c >= 0x0660 && c <= 0x0669);
      return false;
  }
}

// ---------------------------------------------------------------------------------------
// The Bidi Rule (RFC 5893 §2)
// ---------------------------------------------------------------------------------------
// APPROXIMATION: JavaScript has no Bidi_Class property. R/AL is taken to be any non-mark,
// non-number code point in the blocks whose default Bidi_Class is R or AL; AN and EN are the
// Arabic-script digit ranges and ASCII digits; NSM is Mn/Me; L is any other letter, spacing
// mark or decimal digit; everything else counts as a neutral (ES/CS/ET/ON/BN). The few
// neutral punctuation marks inside the RTL blocks (e.g. U+060C, U+066A) are thus treated as
// R, which can accept, never reject, a string a full implementation would decide otherwise.

const RTL_BLOCKS = /[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFF\u{10800}-\u{10FFF}\u{1E800}-\u{1EFFF}]/u;
const L_LIKE = /^[\p{L}\p{Mc}\p{Nd}]$/u;

const enum Bidi {
  L,
  R,
  AN,
  EN,
  NSM,
  ON,
}

function bidiClass(cp: number): Bidi {
  if (cp < 0x80) {
    if (cp >= 0x30 && cp <= 0x39) return Bidi.EN;
    return (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a) ? Bidi.L : Bidi.ON;
  }
  if (
    (cp >= 0x0660 && cp <= 0x0669) ||
    cp === 0x066b ||
    cp === 0x066c ||
    (cp >= 0x0600 && cp <= 0x0605) ||
    cp === 0x06dd ||
    cp === 0x0890 ||
    cp === 0x0891 ||
    cp === 0x08e2 ||
    (cp >= 0x10d30 && cp <= 0x10d39) ||
    (cp >= 0x10e60 && cp <= 0x10e7e)
  )
    return Bidi.AN;
  if (cp >= 0x06f0 && cp <= 0x06f9) return Bidi.EN;
  const ch = String.fromCodePoint(cp);
  if (TRANSPARENT.test(ch)) return Bidi.NSM;
  if (RTL_BLOCKS.test(ch)) return Bidi.R;
  return L_LIKE.test(ch) ? Bidi.L : Bidi.ON;
}

function classes(s: string): Bidi[] {
  return Array.from(s, (c) => bidiClass(c.codePointAt(0)!));
}

function isRtl(cls: Bidi[]): boolean {
  return cls.some((c) => c === Bidi.R || c === Bidi.AN);
}

/** Rules 1-4 for a string containing right-to-left code points. */
function rtlRulesOk(cls: Bidi[]): boolean {
  if (cls[0] !== Bidi.R) return false; // rule 1 (L would break rule 2)
  let en = false,
    an = false;
  for (const c of cls) {
    if (c === Bidi.L) return false; // rule 2
    if (c === Bidi.EN) en = true;
    if (c === Bidi.AN) an = true;
  }
  if (en && an) return false; // rule 4
  let e = cls.length - 1;
  while (e > 0 && cls[e] === Bidi.NSM) e--;
  const end = cls[e];
  return end === Bidi.R || end === Bidi.EN || end === Bidi.AN; // rule 3
}

/** Rules 1, 5, 6 for a left-to-right label of a domain name that has RTL labels. */
function ltrRulesOk(cls: Bidi[]): boolean {
  if (cls[0] !== Bidi.L) return false;
  let e = cls.length - 1;
  while (e > 0 && cls[e] === Bidi.NSM) e--;
  return cls[e] === Bidi.L || cls[e] === Bidi.EN;
}

/** PRECIS directionality rule: the Bidi Rule applies to strings with RTL code points. */
function bidiRuleOk(s: string): boolean {
  if (!RTL_BLOCKS.test(s)) return true;
  const cls = classes(s);
  return !isRtl(cls) || rtlRulesOk(cls);
}

/** IDNA2008: when any label is RTL, every label must satisfy the Bidi Rule (RFC 5893 §1.4). */
function domainBidiOk(labels: string[]): boolean {
  if (!labels.some((l) => RTL_BLOCKS.test(l))) return true;
  const all = labels.map(classes);
  if (!all.some(isRtl)) return true;
  return all.every((cls) => (isRtl(cls) ? rtlRulesOk(cls) : ltrRulesOk(cls)));
}

// ---------------------------------------------------------------------------------------
// Punycode (RFC 3492), for A-label ⇄ U-label conversion
// ---------------------------------------------------------------------------------------

const BASE = 36,
  TMIN = 1,
  TMAX = 26,
  SKEW = 38,
  DAMP = 700,
  INITIAL_BIAS = 72,
  INITIAL_N = 128;
const MAXINT = 0x7fffffff;

function adapt(delta: number, numPoints: number, first: boolean): number {
  delta = first ? Math.floor(delta / DAMP) : delta >> 1;
  delta += Math.floor(delta / numPoints);
  let k = 0;
  while (delta > ((BASE - TMIN) * TMAX) >> 1) {
    delta = Math.floor(delta / (BASE - TMIN));
    k += BASE;
  }
  return k + Math.floor(((BASE - TMIN + 1) * delta) / (delta + SKEW));
}

function threshold(k: number, bias: number): number {
  return k <= bias ? TMIN : k >= bias + TMAX ? TMAX : k - bias;
}

function punycodeDecode(input: string): string | undefined {
  const out: number[] = [];
  const b = Math.max(input.lastIndexOf("-"), 0);
  for (let j = 0; j < b; j++) out.push(input.charCodeAt(j));
  let n = INITIAL_N,
    i = 0,
    bias = INITIAL_BIAS;
  for (let pos = b > 0 ? b + 1 : 0; pos < input.length;) {
    const oldi = i;
    let w = 1;
    for (let k = BASE; ; k += BASE) {
      if (pos >= input.length) return undefined;
      const c = input.charCodeAt(pos++);
      const digit = c >= 0x30 && c <= 0x39 ? c - 22 : c >= 0x61 && c <= 0x7a ? c - 0x61 : c >= 0x41 && c <= 0x5a ? c - 0x41 : BASE;
      if (digit >= BASE || digit > Math.floor((MAXINT - i) / w)) return undefined;
      i += digit * w;
      const t = threshold(k, bias);
      if (digit < t) break;
      if (w > Math.floor(MAXINT / (BASE - t))) return undefined;
      w *= BASE - t;
    }
    const len = out.length + 1;
    bias = adapt(i - oldi, len, oldi === 0);
    if (Math.floor(i / len) > MAXINT - n) return undefined;
    n += Math.floor(i / len);
    i %= len;
    if (n > 0x10ffff || (n >= 0xd800 && n <= 0xdfff)) return undefined;
    out.splice(i++, 0, n);
  }
  return String.fromCodePoint(...out);
}

function punycodeEncode(input: string): string | undefined {
  const cps = Array.from(input, (c) => c.codePointAt(0)!);
  let out = "";
  for (const c of cps) if (c < 0x80) out += String.fromCharCode(c);
  const b = out.length;
  let h = b;
  if (b > 0) out += "-";
  let n = INITIAL_N,
    delta = 0,
    bias = INITIAL_BIAS;
  const digit = (d: number) => String.fromCharCode(d < 26 ? d + 0x61 : d + 22);
  while (h < cps.length) {
    let m = MAXINT;
    for (const c of cps) if (c >= n && c < m) m = c;
    if (m - n > Math.floor((MAXINT - delta) / (h + 1))) return undefined;
    delta += (m - n) * (h + 1);
    n = m;
    for (const c of cps) {
      if (c < n && ++delta > MAXINT) return undefined;
      if (c === n) {
        let q = delta;
        for (let k = BASE; ; k += BASE) {
          const t = threshold(k, bias);
          if (q < t) break;
          out += digit(t + ((q - t) % (BASE - t)));
          q = Math.floor((q - t) / (BASE - t));
        }
        out += digit(q);
        bias = adapt(delta, h + 1, h === b);
        delta = 0;
        h++;
      }
    }
    delta++;
    n++;
  }
  return out;
}
