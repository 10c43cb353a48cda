// Parses what a server wrote on a client stream into elements, independently of the server's
// own XML code, so that tests can assert on exact elements (name, namespace, attributes,
// children) instead of on how they happen to be serialised.
import { SaxesParser } from "saxes";

export const NS_STREAM = "http://etherx.jabber.org/streams";
export const NS_STREAMS = "urn:ietf:params:xml:ns:xmpp-streams";
export const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";
export const NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl";
export const NS_CLIENT = "jabber:client";

export interface XmlEl {
  name: string;
  ns: string;
  attrs: Record<string, string>;
  children: XmlEl[];
  text: string;
}

/** What a server stream consists of, in order: headers, top-level elements, closing tags. */
export type StreamItem =
  { kind: "header"; attrs: Record<string, string>; ns: string; defaultNs: string | undefined } | { kind: "element"; el: XmlEl } | { kind: "close" };

const SPLIT = /<\?xml[^?]*\?>|<stream:stream\b[^>]*>|<\/stream:stream>/g;

/**
 * Parses server output, which may contain several stream headers (restarts), top-level
 * elements, and the closing tag; text may start after a header (a test cleared the buffer).
 * An incomplete element at the end is left out.
 */
export function parseServerOutput(text: string): StreamItem[] {
  const out: StreamItem[] = [];
  let last = 0;
  const segment = (s: string) => {
    for (const el of parseFragment(s)) out.push({ kind: "element", el });
  };
  for (const m of text.matchAll(SPLIT)) {
    segment(text.slice(last, m.index));
    last = m.index + m[0].length;
    if (m[0].startsWith("<?xml")) continue;
    if (m[0] === "</stream:stream>") {
      out.push({ kind: "close" });
      continue;
    }
    const h = parseHeader(m[0]);
    out.push({ kind: "header", ...h });
  }
  segment(text.slice(last));
  return out;
}

/** The top-level elements in server output. */
export function elementsOf(text: string): XmlEl[] {
  return parseServerOutput(text).flatMap((i) => (i.kind === "element" ? [i.el] : []));
}

function parseHeader(tag: string): { attrs: Record<string, string>; ns: string; defaultNs: string | undefined } {
  const p = new SaxesParser({ xmlns: true });
  let res: { attrs: Record<string, string>; ns: string; defaultNs: string | undefined } | undefined;
  p.on("error", (e) => {
    throw new Error(`bad stream header ${tag}: ${e.message}`);
  });
  p.on("opentag", (t) => {
    const attrs: Record<string, string> = {};
    let defaultNs: string | undefined;
    for (const a of Object.values(t.attributes)) {
      if (a.name === "xmlns") defaultNs = a.value;
      else if (a.prefix !== "xmlns") attrs[a.name] = a.value;
    }
    res = { attrs, ns: t.uri, defaultNs };
  });
  p.write(tag + "</stream:stream>").close();
  return res!;
}

function parseFragment(s: string): XmlEl[] {
  if (s.trim() === "") return [];
  const p = new SaxesParser({ xmlns: true, fragment: true, additionalNamespaces: { stream: NS_STREAM } });
  const top: XmlEl[] = [];
  const stack: XmlEl[] = [];
  let error: string | undefined;
  p.on("error", (e) => {
    error ??= e.message;
  });
  p.on("opentag", (t) => {
    if (error) return;
    const attrs: Record<string, string> = {};
    for (const a of Object.values(t.attributes)) {
      if (a.name !== "xmlns" && a.prefix !== "xmlns") attrs[a.name] = a.value;
    }
    // Unprefixed elements of the server's stream are in jabber:client.
    const el: XmlEl = { name: t.local, ns: t.uri === "" ? NS_CLIENT : t.uri, attrs, children: [], text: "" };
    stack[stack.length - 1]?.children.push(el);
    stack.push(el);
  });
  p.on("closetag", () => {
    if (error) return;
    const el = stack.pop()!;
    if (stack.length === 0) top.push(el);
  });
  p.on("text", (t) => {
    const top_ = stack[stack.length - 1];
    if (top_ && !error) top_.text += t;
  });
  p.write(s);
  // An element still open at the end is incomplete (still arriving): it is left out. Any other
  // error means the server wrote something that is not XML.
  if (error && !(stack.length > 0 && /unclosed|unexpected end/i.test(error)) && !/text data outside/i.test(error)) {
    throw new Error(`server output is not well-formed XML (${error}): ${s}`);
  }
  return top;
}

export function child(el: XmlEl, name?: string, ns?: string): XmlEl | undefined {
  return el.children.find((c) => (name === undefined || c.name === name) && (ns === undefined || c.ns === ns));
}

/** Serialises for assertion messages. */
export function show(el: XmlEl | undefined): string {
  if (!el) return "(none)";
  const attrs = Object.entries(el.attrs)
    .map(([k, v]) => ` ${k}="${v}"`)
    .join("");
  const inner = el.children.map(show).join("") + el.text;
  return `<${el.name} {${el.ns}}${attrs}${inner ? `>${inner}</${el.name}>` : "/>"}`;
}
