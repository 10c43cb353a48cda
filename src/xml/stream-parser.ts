// Incremental parser for one XMPP stream: a root <stream:stream> whose children are stanzas.
// saxes does the XML (strict XML 1.0 + namespaces); this file adds what RFC 6120 §11 asks of
// a stream (no DTD, comments or processing instructions) and what a public server needs to
// stay up against it (RFC 6120 §13.12): bounds on the size and the nesting depth of what a
// client makes the server hold, checked before the data is parsed, so that every input costs
// time linear in its size.
import { SaxesParser, type SaxesTagNS } from "saxes";
import { Element, type Attrs } from "./element.js";
import { isHighSurrogate, utf8Length, unitsWithin, whitespaceRun } from "./utf8.js";

export const NS_STREAM = "http://etherx.jabber.org/streams";

export type ParseErrorKind =
  | "not-well-formed"
  | "restricted-xml"
  | "policy-violation"
  | "too-deep"
  | "bad-namespace-prefix"
  /** The parser itself (or a handler it called) threw: a bug, not the client's fault. */
  | "internal";

export interface StreamParserEvents {
  /** The stream header (or, for WebSocket, the <open/> element). */
  onStreamStart(name: string, ns: string, attrs: Attrs, defaultNs: string | undefined): void;
  onStanza(el: Element): void;
  onStreamEnd(): void;
  onError(kind: ParseErrorKind, message: string, cause?: unknown): void;
}

export interface StreamParserOptions {
  /**
   * Largest stanza accepted, in bytes (UTF-8). The stream header and anything else at stream
   * level (bare text, comments, an element that never ends) is held to the same bound.
   */
  maxStanzaSize: number;
  /** Deepest element nesting within a stanza (the stanza itself is depth 1). */
  maxDepth: number;
  /**
   * WebSocket framing (RFC 7395): every frame is a whole document, <open/> and <close/> are
   * empty top-level elements and stanzas are top-level too.
   */
  framed?: boolean;
}

/* eslint-disable @typescript-eslint/only-throw-error -- ABORT below is a sentinel, not an error: feed() catches it and nothing reports it */
/** Thrown from inside saxes' callbacks to stop it at once: nothing after a fatal error is parsed. */
const ABORT = Symbol("abort");

/** Where the last element at stream level ended, as saxes reports it inside one write. */
type Boundary = { units: number; idle: boolean };

export class StreamParser {
  private parser!: SaxesParser<{ xmlns: true; position: true }>;
  /** Open elements, the stream header included (TCP). */
  private depth = 0;
  private stack: Element[] = [];
  /**
   * The namespace of each open element of the stanza being built, so that an element's is known
   * without walking its ancestors (that walk made deep nesting quadratic).
   */
  private nsStack: string[] = [];
  private failed = false;
  private maxStanzaSize: number;
  // Byte accounting, per stream document (reset() starts again at 0):
  /** Bytes of the stream consumed so far: fed to saxes or skipped as whitespace. */
  private total = 0;
  /** Where the item being received (a stanza, the header, text at stream level) began, in bytes. */
  private mark = 0;
  /** UTF-16 code units fed to saxes so far: its `position` counts these. */
  private units = 0;
  /** Between items at stream level, where whitespace is a keepalive (RFC 6120 §4.6.1). */
  private idle = false;
  /** The last stream-level boundary saxes reported during the current write. */
  private boundary: Boundary | undefined;
  /** Changes on reset(): a write that outlives its document does no accounting for it. */
  private generation = 0;

  constructor(
    private events: StreamParserEvents,
    private readonly opts: StreamParserOptions,
  ) {
    this.maxStanzaSize = opts.maxStanzaSize;
    this.reset();
  }

  /** Sends further events elsewhere (stream management moves a connection into a resumed session). */
  setEvents(events: StreamParserEvents): void {
    this.events = events;
  }

  /** Changes the size bound (a session gets the larger one once authenticated); applies to the item being received too. */
  setMaxStanzaSize(bytes: number): void {
    this.maxStanzaSize = bytes;
  }

  /** Parses nothing more: the stream is closed and what still arrives is not looked at. */
  stop(): void {
    this.failed = true;
  }

  /** Starts a new document: after STARTTLS and SASL the stream restarts (RFC 6120 §4.3.3). */
  reset(): void {
    const p = new SaxesParser({ xmlns: true, position: true, fragment: !!this.opts.framed });
    this.parser = p;
    this.generation++;
    this.depth = 0;
    this.stack = [];
    this.nsStack = [];
    this.total = 0;
    this.mark = 0;
    this.units = 0;
    // A WebSocket frame sequence is at stream level from the start; a TCP stream begins with
    // its header, which is counted like a stanza.
    this.idle = !!this.opts.framed;
    this.boundary = undefined;
    p.on("doctype", () => this.abort("restricted-xml", "DTD"));
    p.on("comment", () => this.abort("restricted-xml", "comment"));
    p.on("processinginstruction", () => this.abort("restricted-xml", "processing instruction"));
    p.on("error", (err) => {
      const m = String(err.message);
      // saxes reports a DOCTYPE after the root start, and any other "<!" markup declaration
      // (<!ENTITY, <!ELEMENT, ...), as errors before (or instead of) a "doctype" event: both
      // are DTD markup, which RFC 6120 §11.1 answers with restricted-xml.
      this.abort(/prefix/i.test(m) ? "bad-namespace-prefix" : /doctype|^(?:\d+:\d+: )?incorrect syntax/i.test(m) ? "restricted-xml" : "not-well-formed", m);
    });
    // The depth bound is applied as soon as the element's name is read, before saxes resolves
    // its namespace: saxes' resolve() walks its own stack of open tags for each prefix, which
    // the bound keeps short.
    p.on("opentagstart", () => {
      const depth = this.opts.framed ? this.depth + 1 : this.depth;
      if (depth > this.opts.maxDepth) this.abort("too-deep", `elements nested deeper than ${this.opts.maxDepth}`);
    });
    // A restart during a write (a handler called reset()) ends the old document there: nothing
    // more of it reaches the new one's state.
    const live = () => {
      if (this.parser !== p) throw ABORT;
    };
    p.on("opentag", (tag) => {
      live();
      this.openTag(tag);
    });
    p.on("closetag", () => {
      live();
      this.closeTag();
    });
    p.on("text", (t) => {
      live();
      this.text(t);
    });
    p.on("cdata", (t) => {
      live();
      this.cdata(t);
    });
  }

  /**
   * Takes the next piece of the stream. Each piece is fed to saxes in slices no longer than
   * what the current item may still grow by, so saxes never holds more than the bound of an
   * unfinished item (an opening tag that never ends, an endless attribute value or text).
   */
  write(chunk: string): void {
    let i = 0;
    while (i < chunk.length && !this.failed) {
      if (this.idle) {
        // Whitespace between stanzas is a keepalive: skipped, not buffered, never counted.
        const j = whitespaceRun(chunk, i);
        this.total += j - i; // whitespace is ASCII: one byte per code unit
        this.mark = this.total;
        i = j;
        if (i === chunk.length) break;
        this.idle = false;
      }
      const allowance = this.maxStanzaSize - (this.total - this.mark);
      if (allowance <= 0) return this.fail("policy-violation", "stanza too large");
      // A code unit is at least one byte: `allowance` units is the most that can fit.
      let n = Math.min(chunk.length - i, allowance);
      // Never end a slice between the halves of a surrogate pair: each half alone would count 3 bytes.
      if (n > 1 && n < chunk.length - i && isHighSurrogate(chunk, i + n - 1)) n--;
      let slice = chunk.slice(i, i + n);
      let bytes = utf8Length(slice);
      if (bytes > allowance) {
        n = unitsWithin(chunk, i, n, allowance);
        if (n === 0) return this.fail("policy-violation", "stanza too large");
        slice = chunk.slice(i, i + n);
        bytes = utf8Length(slice);
      }
      this.feed(slice, bytes);
      i += n;
    }
  }

  /** Feeds one slice to saxes, then moves the mark to the last stream-level boundary in it. */
  private feed(slice: string, bytes: number): void {
    const generation = this.generation;
    const units0 = this.units,
      bytes0 = this.total;
    this.boundary = undefined;
    try {
      this.parser.write(slice);
    } catch (err) {
      if (err !== ABORT) this.fail("internal", String((err as Error)?.message ?? err), err);
      return;
    }
    if (generation !== this.generation) return; // the stream restarted during this write
    this.units += slice.length;
    this.total += bytes;
    const b = this.boundary as Boundary | undefined; // set by the callbacks during write()
    if (!b) return;
    let at = Math.max(0, Math.min(slice.length, b.units - units0));
    if (b.idle) {
      // Whitespace after the end of a stanza is a keepalive whatever follows it, here as when
      // it arrives on its own (then write() skips it): the count must not depend on how the
      // data was cut into chunks.
      at = whitespaceRun(slice, at);
      this.idle = at === slice.length;
    }
    this.mark = bytes0 + (at === slice.length ? bytes : utf8Length(slice.slice(0, at)));
  }

  private fail(kind: ParseErrorKind, message: string, cause?: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.events.onError(kind, message, cause);
  }

  /** fail() from inside a saxes callback: also stops saxes in the middle of its chunk. */
  private abort(kind: ParseErrorKind, message: string): never {
    this.fail(kind, message);
    throw ABORT;
  }

  /** Records a stream-level boundary at saxes' current position (plus `offset` code units). */
  private markHere(idle: boolean, offset = 0): void {
    this.boundary = { units: this.parser.position + offset, idle };
  }

  private openTag(tag: SaxesTagNS): void {
    if (this.failed) throw ABORT;
    // Filled in place (not copied by the Element constructor): one object per element.
    const el = new Element(tag.local);
    const attrs: Attrs = el.attrs;
    let defaultNs: string | undefined;
    for (const key in tag.attributes) {
      const a = tag.attributes[key]!;
      if (a.name === "xmlns") {
        defaultNs = a.value;
        continue;
      }
      if (a.prefix === "xmlns") continue;
      attrs[a.name] = a.value;
    }
    this.depth++;
    if (this.depth === 1 && !this.opts.framed) {
      this.markHere(true);
      this.events.onStreamStart(tag.local, tag.uri, attrs, defaultNs);
      return;
    }
    if (this.depth === 2 && !this.opts.framed && tag.local === "stream" && tag.uri === NS_STREAM) {
      // A second stream header without a restart: the session refuses it (invalid-xml);
      // nothing after it is parsed.
      this.failed = true;
      this.events.onStreamStart(tag.local, tag.uri, attrs, defaultNs);
      throw ABORT;
    }
    const parent = this.stack[this.stack.length - 1];
    const parentNs = this.nsStack[this.nsStack.length - 1];
    // Keep the namespace on the element whenever it differs from its parent's, so that the
    // element still means the same thing when it is serialised into another stream.
    if (!parent || parentNs !== tag.uri) el.attrs.xmlns = tag.uri;
    // A WebSocket frame has no stream element to inherit jabber:client from (RFC 7395 §3.3.3).
    if (!parent && this.opts.framed && tag.uri === "") el.attrs.xmlns = "jabber:client";
    if (parent) parent.cnode(el);
    this.stack.push(el);
    this.nsStack.push(el.attrs.xmlns ?? parentNs!);
  }

  private closeTag(): void {
    if (this.failed) throw ABORT;
    this.depth--;
    if (!this.opts.framed && this.depth === 0) {
      this.events.onStreamEnd();
      return;
    }
    const el = this.stack.pop();
    this.nsStack.pop();
    if (!el) return;
    if (this.stack.length === 0) {
      this.markHere(true);
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
    if (this.failed) throw ABORT;
    const top = this.stack[this.stack.length - 1];
    if (top) {
      top.t(t);
      return;
    }
    // Text directly inside <stream:stream> is not a stanza: ignored rather than buffered. saxes
    // reports it when the next "<" arrives; that "<" begins the next item.
    this.markHere(false, -1);
  }

  private cdata(t: string): void {
    if (this.failed) throw ABORT;
    const top = this.stack[this.stack.length - 1];
    if (top) {
      top.t(t);
      return;
    }
    this.markHere(true);
  }
}
