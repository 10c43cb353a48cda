// Fuzzing the stream parser (src/xml/stream-parser.ts) in-process, with fast-check.
//
// Why fast-check: it is well kept (frequent releases, no native code, no install step), runs
// in-process (thousands of inputs per second per core here, each parsed whole and in chunks),
// shrinks a failing input to a small one, and replays any run from its seed and path, which is
// how a finding becomes a regression case. jazzer.js (coverage-guided libFuzzer) would find deep paths faster, but it
// needs a native prebuilt binary downloaded at install time, which this project's machines
// cannot fetch; saxes' state machine is small enough for generated and mutated inputs to cover.
//
// Two properties, each over random chunkings and random (small) bounds:
//  - soup: any string (XML-like token soup, arbitrary text, mutated stanzas): the parser never
//    throws, never reports an internal error, reports at most one error and nothing after it,
//    gives the same events however the input is cut into chunks, and is never slow;
//  - oracle: generated well-formed stanzas with namespaces, prefixes, entities, CDATA, non-ASCII
//    text and whitespace keepalives between them: the parser gives back exactly those stanzas
//    (same names, namespaces, attributes and text) until the first one that is larger in bytes
//    or deeper than the bound, and then exactly that error.
import fc from "fast-check";
import { StreamParser, type ParseErrorKind } from "../../src/xml/stream-parser.js";
import { Element } from "../../src/xml/element.js";

export const HEADER = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>";
const OPEN = "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='localhost' version='1.0'/>";

export interface ParserCase {
  input: string;
  /** Offsets (code units) where the input is cut into chunks. */
  cuts: number[];
  maxStanzaSize: number;
  maxDepth: number;
  framed: boolean;
}

export interface Outcome {
  events: string[];
  error?: ParseErrorKind;
  ms: number;
}

/** Something that broke: thrown by the checks, with the case that shows it. */
export class Finding extends Error {
  constructor(
    readonly kind: "crash" | "internal" | "after-error" | "split" | "oracle" | "slow",
    message: string,
    readonly case_?: ParserCase,
  ) {
    super(`${kind}: ${message}`);
  }
}

/** A canonical form of an element, independent of how prefixes and xmlns were written. */
export function canon(el: Element, parentNs = ""): string {
  const ns = el.getNS() ?? parentNs;
  const attrs = Object.keys(el.attrs)
    .filter((k) => k !== "xmlns")
    .sort()
    .map((k) => `${k}=${JSON.stringify(el.attrs[k])}`)
    .join(" ");
  let s = `{${ns}}${el.name}[${attrs}](`;
  let text = "";
  for (const c of el.children) {
    if (typeof c === "string") {
      text += c;
      continue;
    }
    if (text) {
      s += JSON.stringify(text);
      text = "";
    }
    s += canon(c, ns);
  }
  if (text) s += JSON.stringify(text);
  return s + ")";
}

/** Runs the parser over the input, cut at `cuts`. Any exception that escapes is a crash. */
export function runParser(c: ParserCase): Outcome {
  const events: string[] = [];
  let error: ParseErrorKind | undefined;
  const after = () => {
    if (error) throw new Finding("after-error", `an event after the error ${error}: ${events.slice(-2).join(" ")}`, c);
  };
  const p = new StreamParser(
    {
      onStreamStart(name, ns, attrs) {
        after();
        events.push(`start {${ns}}${name} ${JSON.stringify(attrs)}`);
      },
      onStanza(el) {
        after();
        events.push(canon(el));
      },
      onStreamEnd() {
        after();
        events.push("end");
      },
      onError(kind, message) {
        after();
        if (kind === "internal") throw new Finding("internal", `the parser reported an internal error: ${message}`, c);
        error = kind;
        events.push(`error ${kind}`);
      },
    },
    { maxStanzaSize: c.maxStanzaSize, maxDepth: c.maxDepth, framed: c.framed },
  );
  const t0 = performance.now();
  let at = 0;
  try {
    for (const cut of [...c.cuts, c.input.length]) {
      if (cut <= at) continue;
      p.write(c.input.slice(at, cut));
      at = cut;
    }
  } catch (err) {
    if (err instanceof Finding) throw err;
    throw new Finding("crash", `write() threw: ${(err as Error)?.stack ?? String(err)}`, c);
  }
  return { events, error, ms: performance.now() - t0 };
}

/** What one input must satisfy, whole and in chunks. */
export function checkCase(c: ParserCase, slowMs = 1000): Outcome {
  const whole = runParser({ ...c, cuts: [] });
  const chunked = c.cuts.length ? runParser(c) : whole;
  if (whole.events.length !== chunked.events.length || whole.events.some((e, i) => e !== chunked.events[i])) {
    const i = whole.events.findIndex((e, k) => e !== chunked.events[k]);
    throw new Finding(
      "split",
      `cutting the input changed event ${i}: whole ${JSON.stringify(whole.events[i])}, chunked ${JSON.stringify(chunked.events[i])}`,
      c,
    );
  }
  const ms = Math.max(whole.ms, chunked.ms);
  if (ms > slowMs) throw new Finding("slow", `${Math.round(ms)} ms for ${c.input.length} code units`, c);
  return whole;
}

// --- soup: anything at all -------------------------------------------------------------------

const TOKENS = [
  "<",
  ">",
  "</",
  "/>",
  "<a",
  "<a>",
  "</a>",
  "<b/>",
  "<message",
  "<message>",
  "</message>",
  "<iq type='get'>",
  "</iq>",
  "<stream:stream",
  "</stream:stream>",
  HEADER,
  OPEN,
  "<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>",
  " xmlns='jabber:client'",
  " xmlns='urn:x'",
  " xmlns=''",
  " xmlns:p='urn:p'",
  " xmlns:stream='http://etherx.jabber.org/streams'",
  "<p:a",
  "</p:a>",
  "<q:a",
  " p:x='1'",
  " x='1'",
  " x='1' x='2'",
  ' x="',
  "='",
  "'",
  '"',
  "=",
  "&amp;",
  "&lt;",
  "&#x41;",
  "&#65;",
  "&#0;",
  "&#xD800;",
  "&bogus;",
  "&",
  ";",
  "<![CDATA[",
  "]]>",
  "]]",
  "<!--",
  "-->",
  "<?",
  "?>",
  "<?xml version='1.0'?>",
  "<!DOCTYPE a>",
  "<!ENTITY x 'y'>",
  "<!",
  " ",
  "  ",
  "\n",
  "\r",
  "\r\n",
  "\t",
  "é",
  "€",
  "😀",
  "\uD800",
  "\uDC00",
  "\u0000",
  "\u0001",
  "\uFFFE",
  "\uFFFF",
  "x",
  "text",
];

const token = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...TOKENS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 6, unit: "binary" }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
);

/** A string that is mostly XML-like: a header (usually), then tokens. */
const SHORT_HEADER = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";
export const soupInput = fc
  .tuple(fc.constantFrom(HEADER, SHORT_HEADER, SHORT_HEADER, "", OPEN), fc.array(token, { maxLength: 40 }))
  .map(([h, toks]) => h + toks.join(""));

/**
 * What reaches the parser is decoded UTF-8 (the socket's and the WebSocket's decoders): no lone
 * surrogate (an invalid byte becomes U+FFFD), and no chunk that ends inside a surrogate pair.
 */
export function wellFormed(s: string): string {
  return s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd");
}
function cutsFor(input: string): fc.Arbitrary<number[]> {
  const n = input.length;
  return fc
    .uniqueArray(fc.integer({ min: 1, max: Math.max(1, n - 1) }), { maxLength: 12 })
    .map((a) => a.filter((i) => !(input.charCodeAt(i) >= 0xdc00 && input.charCodeAt(i) <= 0xdfff)).sort((x, y) => x - y));
}

// --- oracle: generated well-formed stanzas -----------------------------------------------------

interface Gen {
  name: string;
  prefix?: string;
  ns?: string;
  attrs: Array<[string, string]>;
  children: Array<Gen | string>;
  cdata?: boolean;
}

const nameArb = fc.constantFrom("message", "body", "a", "b", "item", "query", "x", "ping", "z9", "é", "n-a.m_e");
const nsArb = fc.constantFrom("urn:example:a", "urn:example:b", "jabber:client", "http://etherx.jabber.org/streams", "urn:é");
const textArb = fc.oneof(
  fc.constantFrom("hi", "a & b", "<tag>", "x > y", 'it\'s "quoted"', "é😀€", "]]", "  spaced  ", "line\nbreak", "tab\there"),
  fc.string({ maxLength: 20 }).map((s) => s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff\r]/g, "").replace(/[\ud800-\udfff]/g, "")),
);
const attrArb = fc.tuple(fc.constantFrom("id", "type", "to", "from", "x", "xml:lang", "a-b", "é"), textArb);

const genTree: fc.Arbitrary<Gen> = fc.letrec<{ el: Gen }>((tie) => ({
  el: fc.record({
    name: nameArb,
    prefix: fc.option(fc.constantFrom("p", "q"), { nil: undefined, freq: 5 }),
    ns: fc.option(nsArb, { nil: undefined, freq: 2 }),
    attrs: fc.uniqueArray(attrArb, { maxLength: 3, selector: (a) => a[0] }),
    children: fc.array(fc.oneof({ weight: 1, arbitrary: textArb }, { weight: 2, arbitrary: tie("el") }), { maxLength: 4, depthIdentifier: "tree" }),
    cdata: fc.boolean(),
  }),
})).el;

const escText = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const escAttr = (s: string) => escText(s).replace(/'/g, "&apos;").replace(/\n/g, "&#10;").replace(/\t/g, "&#9;");

/** Serialises independently of the server's code; a prefixed element declares its prefix. */
function serialise(g: Gen, top: boolean): string {
  const qn = g.prefix ? `${g.prefix}:${g.name}` : g.name;
  let s = `<${qn}`;
  if (g.prefix) s += ` xmlns:${g.prefix}='${escAttr(g.ns ?? "urn:prefixed")}'`;
  // The top element always declares the default namespace, so that it means the same in a TCP
  // stream (which declares jabber:client) and alone in a WebSocket frame (which does not).
  if (g.prefix ? top : g.ns !== undefined || top) s += ` xmlns='${escAttr(g.prefix || g.ns === undefined ? "jabber:client" : g.ns)}'`;
  for (const [k, v] of g.attrs) s += ` ${k}='${escAttr(v)}'`;
  if (!g.children.length) return s + "/>";
  s += ">";
  for (const c of g.children) {
    if (typeof c !== "string") s += serialise(c, false);
    else if (g.cdata && c && !c.includes("]]>")) s += `<![CDATA[${c}]]>`;
    else s += escText(c);
  }
  return s + `</${qn}>`;
}

function depthOf(g: Gen): number {
  let d = 0;
  for (const c of g.children) if (typeof c !== "string") d = Math.max(d, depthOf(c));
  return d + 1;
}

export interface OracleCase extends ParserCase {
  stanzas: string[];
}

export const oracleCase: fc.Arbitrary<OracleCase> = fc
  .tuple(
    fc.array(fc.tuple(genTree, fc.constantFrom("", " ", "\n", "  \r\n\t", " ".repeat(300))), { minLength: 1, maxLength: 6 }),
    fc.integer({ min: 200, max: 1500 }),
    fc.integer({ min: 1, max: 8 }),
    fc.boolean(),
  )
  .chain(([items, maxStanzaSize, maxDepth, framed]) => {
    const stanzas = items.map(([g]) => serialise(g, true));
    const input = (framed ? OPEN : HEADER) + items.map(([, ws], i) => ws + stanzas[i]).join("");
    return cutsFor(input).map((cuts) => ({ input, cuts, maxStanzaSize, maxDepth, framed, stanzas, depths: items.map(([g]) => depthOf(g)) }));
  });

/** The expected events for generated stanzas, from an independent parse of each. */
export function checkOracle(c: OracleCase & { depths?: number[] }, slowMs = 1000): void {
  const out = checkCase(c, slowMs);
  const expected: string[] = [];
  const depths = c.depths ?? [];
  let expectedError: ParseErrorKind[] | undefined;
  for (let i = 0; i < c.stanzas.length; i++) {
    const s = c.stanzas[i]!;
    const big = Buffer.byteLength(s) > c.maxStanzaSize,
      deep = (depths[i] ?? 0) > c.maxDepth;
    if (big || deep) {
      expectedError = big && deep ? ["policy-violation", "too-deep"] : big ? ["policy-violation"] : ["too-deep"];
      break;
    }
    expected.push(canonOf(s));
  }
  const got = out.events.filter((e) => !e.startsWith("start ") && !e.startsWith("error "));
  const same = got.length === expected.length && got.every((e, i) => e === expected[i]);
  if (!same) throw new Finding("oracle", `stanzas differ:\n expected ${JSON.stringify(expected)}\n got      ${JSON.stringify(got)}`, c);
  if (expectedError ? !out.error || !expectedError.includes(out.error) : out.error) {
    throw new Finding("oracle", `expected error ${expectedError?.join(" or ") ?? "none"}, got ${out.error ?? "none"}`, c);
  }
}

/** Canonical form of one serialised stanza, parsed alone by a parser without bounds. */
function canonOf(xml: string): string {
  let got = "";
  const p = new StreamParser(
    {
      onStreamStart() {},
      onStreamEnd() {},
      onStanza(el) {
        got = canon(el);
      },
      onError(kind, m) {
        throw new Error(`oracle stanza does not parse (${kind}: ${m}): ${xml}`);
      },
    },
    { maxStanzaSize: 1 << 30, maxDepth: 1 << 20, framed: true },
  );
  p.write(xml);
  return got;
}

// --- mutation of valid input ---------------------------------------------------------------------

/** A well-formed stream with one to three random edits: the inputs closest to real ones. */
function mutated(): fc.Arbitrary<string> {
  return fc
    .tuple(
      genTree.map((g) => HEADER + serialise(g, true)),
      fc.array(fc.tuple(fc.nat(), fc.nat({ max: 8 }), fc.constantFrom("delete", "duplicate", "insert", "replace"), fc.constantFrom(...TOKENS)), {
        minLength: 1,
        maxLength: 3,
      }),
    )
    .map(([s, edits]) => {
      for (const [pos, len, op, tok] of edits) {
        const i = pos % (s.length + 1);
        if (op === "delete") s = s.slice(0, i) + s.slice(i + len);
        else if (op === "duplicate") s = s.slice(0, i + len) + s.slice(i, i + len) + s.slice(i + len);
        else if (op === "insert") s = s.slice(0, i) + tok + s.slice(i);
        else s = s.slice(0, i) + tok + s.slice(i + tok.length);
      }
      return s;
    });
}

export const soupCase: fc.Arbitrary<ParserCase> = fc
  .tuple(fc.oneof(soupInput, mutated()), fc.integer({ min: 16, max: 2048 }), fc.integer({ min: 1, max: 12 }), fc.boolean())
  .chain(([raw, maxStanzaSize, maxDepth, framed]) => {
    const input = wellFormed(raw);
    return cutsFor(input).map((cuts) => ({ input, cuts, maxStanzaSize, maxDepth, framed }));
  });

/** Runs both properties for `ms` milliseconds (or `runs` inputs); returns the count and the first finding. */
export function fuzzParser(opts: { ms?: number; runs?: number; seed?: number; onProgress?: (n: number) => void }): {
  runs: number;
  finding?: { message: string; seed: number; path?: string; counterexample?: unknown };
} {
  const seed = opts.seed ?? Date.now() ^ (Math.random() * 2 ** 31);
  let runs = 0;
  const prop = fc.property(
    fc.oneof({ weight: 3, arbitrary: soupCase.map((c) => ({ c, oracle: false })) }, { weight: 1, arbitrary: oracleCase.map((c) => ({ c, oracle: true })) }),
    ({ c, oracle }) => {
      runs++;
      if ((runs & 4095) === 0) opts.onProgress?.(runs);
      if (oracle) checkOracle(c as OracleCase);
      else checkCase(c);
    },
  );
  const r = fc.check(prop, { seed, numRuns: opts.runs ?? Number.MAX_SAFE_INTEGER, interruptAfterTimeLimit: opts.ms, markInterruptAsFailure: false });
  if (!r.failed) return { runs };
  const err = r.errorInstance as Error | undefined;
  return {
    runs,
    finding: {
      message: err?.message ?? String(r.errorInstance),
      seed: r.seed,
      path: r.counterexamplePath ?? undefined,
      counterexample: (r.counterexample as unknown[] | null)?.[0],
    },
  };
}
