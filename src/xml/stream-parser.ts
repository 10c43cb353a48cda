// Incremental parser for one XMPP stream: a root <stream:stream> whose children are stanzas.
// saxes does the XML (strict XML 1.0 + namespaces); this file adds what RFC 6120 §11 asks of
// a stream: no DTD, comments or processing instructions, and a bound on stanza size.
import { SaxesParser, type SaxesTagNS } from "saxes";
import { Element, type Attrs } from "./element.js";

export const NS_STREAM = "http://etherx.jabber.org/streams";

export type ParseErrorKind = "not-well-formed" | "restricted-xml" | "policy-violation" | "bad-namespace-prefix";

export interface StreamParserEvents {
  /** The stream header (or, for WebSocket, the <open/> element). */
  onStreamStart(name: string, ns: string, attrs: Attrs, defaultNs: string | undefined): void;
  onStanza(el: Element): void;
  onStreamEnd(): void;
  onError(kind: ParseErrorKind, message: string): void;
}

export interface StreamParserOptions {
  /** Largest stanza accepted, in characters. */
  maxStanzaSize: number;
  /**
   * WebSocket framing (RFC 7395): every frame is a whole document, <open/> and <close/> are
   * empty top-level elements and stanzas are top-level too.
   */
  framed?: boolean;
}

export class StreamParser {
  private parser!: SaxesParser<{ xmlns: true; position: true }>;
  private depth = 0;
  private stack: Element[] = [];
  private mark = 0;
  private failed = false;

  constructor(private events: StreamParserEvents, private readonly opts: StreamParserOptions) {
    this.reset();
  }

  /** Sends further events elsewhere (stream management moves a connection into a resumed session). */
  setEvents(events: StreamParserEvents): void {
    this.events = events;
  }

  /** Starts a new document: after STARTTLS and SASL the stream restarts (RFC 6120 §4.3.3). */
  reset(): void {
    const p = new SaxesParser({ xmlns: true, position: true, fragment: !!this.opts.framed });
    this.parser = p;
    this.depth = 0;
    this.stack = [];
    this.mark = 0;
    p.on("doctype", () => this.fail("restricted-xml", "DTD"));
    p.on("comment", () => this.fail("restricted-xml", "comment"));
    p.on("processinginstruction", () => this.fail("restricted-xml", "processing instruction"));
    p.on("error", (err) => {
      const m = String(err.message);
      // saxes reports a DOCTYPE after the root start, and any other "<!" markup declaration
      // (<!ENTITY, <!ELEMENT, ...), as errors before (or instead of) a "doctype" event: both
      // are DTD markup, which RFC 6120 §11.1 answers with restricted-xml.
      this.fail(/prefix/i.test(m) ? "bad-namespace-prefix"
        : /doctype|^(?:\d+:\d+: )?incorrect syntax/i.test(m) ? "restricted-xml"
        : "not-well-formed", m);
    });
    p.on("opentag", (tag) => this.openTag(tag as SaxesTagNS));
    p.on("closetag", () => this.closeTag());
    p.on("text", (t) => this.text(t));
    p.on("cdata", (t) => this.text(t));
  }

  write(chunk: string): void {
    if (this.failed) return;
    try {
      this.parser.write(chunk);
    } catch (err) {
      this.fail("not-well-formed", String((err as Error).message));
      return;
    }
    if (!this.failed && this.inStanza() && this.parser.position - this.mark > this.opts.maxStanzaSize) {
      this.fail("policy-violation", "stanza too large");
    }
  }

  private inStanza(): boolean {
    return this.opts.framed ? this.depth >= 1 : this.depth >= 2;
  }

  private fail(kind: ParseErrorKind, message: string): void {
    if (this.failed) return;
    this.failed = true;
    this.events.onError(kind, message);
  }

  private openTag(tag: SaxesTagNS): void {
    if (this.failed) return;
    const attrs: Attrs = {};
    let defaultNs: string | undefined;
    for (const key in tag.attributes) {
      const a = tag.attributes[key]!;
      if (a.name === "xmlns") { defaultNs = a.value; continue; }
      if (a.prefix === "xmlns") continue;
      attrs[a.name] = a.value;
    }
    this.depth++;
    if (this.depth === 1 && !this.opts.framed) {
      this.events.onStreamStart(tag.local, tag.uri, attrs, defaultNs);
      this.mark = this.parser.position;
      return;
    }
    if (this.depth === 2 && !this.opts.framed && tag.local === "stream" && tag.uri === NS_STREAM) {
      // A second stream header without a restart: the session refuses it (invalid-xml);
      // nothing after it is parsed.
      this.failed = true;
      this.events.onStreamStart(tag.local, tag.uri, attrs, defaultNs);
      return;
    }
    const parent = this.stack[this.stack.length - 1];
    const el = new Element(tag.local, attrs);
    // Keep the namespace on the element whenever it differs from its parent's, so that the
    // element still means the same thing when it is serialised into another stream.
    if (!parent || parent.getNS() !== tag.uri) el.attrs.xmlns = tag.uri;
    // A WebSocket frame has no stream element to inherit jabber:client from (RFC 7395 §3.3.3).
    if (!parent && this.opts.framed && tag.uri === "") el.attrs.xmlns = "jabber:client";
    if (parent) parent.cnode(el);
    this.stack.push(el);
  }

  private closeTag(): void {
    if (this.failed) return;
    this.depth--;
    if (!this.opts.framed && this.depth === 0) {
      this.events.onStreamEnd();
      return;
    }
    const el = this.stack.pop();
    if (!el) return;
    if (this.stack.length === 0) {
      // A stanza that arrived whole in one chunk never hits the check in write(): check it here.
      if (this.parser.position - this.mark > this.opts.maxStanzaSize) return this.fail("policy-violation", "stanza too large");
      this.mark = this.parser.position;
      if (this.opts.framed && el.name === "close" && el.attrs.xmlns === "urn:ietf:params:xml:ns:xmpp-framing") {
        this.events.onStreamEnd();
        return;
      }
      if (this.opts.framed && el.name === "open" && el.attrs.xmlns === "urn:ietf:params:xml:ns:xmpp-framing") {
        this.events.onStreamStart("open", el.attrs.xmlns, el.attrs, undefined);
        return;
      }
      el.parent = null;
      this.events.onStanza(el);
    }
  }

  private text(t: string): void {
    if (this.failed) return;
    const top = this.stack[this.stack.length - 1];
    if (top) top.t(t);
    // Text directly inside <stream:stream> is whitespace keepalive (RFC 6120 §4.6.1); anything
    // else there is not a stanza and is ignored rather than buffered.
    else this.mark = this.parser.position;
  }
}
