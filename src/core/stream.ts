// One client stream from its header to its close: negotiation state, the bound resource and
// the little presence state routing needs. What happens on each element is decided by
// handlers on the bus ("nonza/<ns>:<name>" for stream-level elements, the router for stanzas).
// Features see it through the Session interface (src/core/session.ts); only the kernel knows
// this class, and it knows the kernel only as a SessionHost.
import { randomId } from "./random.js";
import type { Logger } from "pino";
import { Element, escapeAttr } from "../xml/element.js";
import { StreamParser, NS_STREAM, type ParseErrorKind } from "../xml/stream-parser.js";
import { streamErrors, streamErrorElement, type StreamErrorDef } from "./errors.js";
import type { Transport } from "./transport.js";
import type { JID } from "./jid.js";
import type { Config } from "./config.js";
import type { Bus } from "./bus.js";
import { NS_CLIENT, type OutFilter, type Session, type SessionData, type SmHooks } from "./session.js";

const NS_FRAMING = "urn:ietf:params:xml:ns:xmpp-framing";

/** What a stream needs of the server it belongs to. */
export interface SessionHost {
  readonly config: Config;
  readonly log: Logger;
  readonly bus: Bus;
  readonly router: { fromClient(session: Session, stanza: Element): Promise<void> };
  /** Called exactly once when a session ends, however it ends. */
  sessionClosed(session: Session, error: StreamErrorDef | undefined, abrupt: boolean): void;
  /** A resumption moved `fresh`'s connection to `resumed`. */
  handOverStream(fresh: Session, resumed: Session): void;
}

export class ClientStream implements Session {
  readonly id = randomId(9);
  readonly createdAt = Date.now();
  /** The client's address: the socket's, or the one a trusted proxy vouched for. */
  ip: string;
  streamId = "";
  /** Set once SASL succeeds. */
  username: string | undefined;
  /** Set once a resource is bound. */
  resource: string | undefined;
  jid: JID | undefined;
  /** How the session authenticated (mechanism name), for client management. */
  authMechanism: string | undefined;
  /** The client's last available presence (undefined = not available). */
  presence: Element | undefined;
  priority = 0;
  /** What features keep per session: each declares its own fields (SessionData). */
  readonly data: SessionData = {};
  /** Outbound filters (stream management counts and queues here). */
  outFilters: OutFilter[] | undefined;
  /** Stanzas (message, presence, iq) received from the client: XEP-0198's inbound count. */
  stanzasIn = 0;
  /** Stream management hooks (set once SM is enabled). */
  sm: SmHooks | undefined;
  /**
   * XEP-0198: the connection is gone but the session lives on (still bound, still receiving
   * stanzas into the SM queue) until it is resumed or its hibernation ends (then close()).
   */
  hibernating = false;
  closed = false;
  private headerSeen = false;
  private parser: StreamParser;
  private authTimer: NodeJS.Timeout | undefined;
  /** The connection. Replaced only when stream management resumes this session on a new one (takeOver). */
  transport: Transport;

  constructor(
    private readonly server: SessionHost,
    transport: Transport,
    ip: string,
  ) {
    this.transport = transport;
    this.ip = ip;
    const cfg = server.config;
    // Until the client authenticates it gets the small bound (RFC 6120 §13.12): it has nothing
    // larger than a SASL exchange to send, and costs the server nothing it could not afford.
    this.parser = new StreamParser(this, {
      maxStanzaSize: Math.min(cfg.c2s_preauth_stanza_size_limit, cfg.c2s_stanza_size_limit),
      maxDepth: cfg.c2s_stanza_depth_limit,
      framed: transport.framed,
    });
    this.attach(transport);
    this.authTimer = setTimeout(() => this.close(streamErrors.timeout), server.config.c2s_timeout * 1000);
    this.authTimer.unref();
  }

  private attach(transport: Transport): void {
    transport.onData((chunk) => this.parser.write(chunk));
    transport.onClose(() => this.onTransportClosed());
    transport.onOverflow(() => {
      if (this.closed) return;
      this.log.info({ ip: this.ip, user: this.username }, "output not read past c2s_send_buffer_limit; closing the stream");
      this.close(streamErrors.sendBufferFull);
    });
  }

  /**
   * A logger naming this session. Made on each use, not kept: most sessions never log, a kept
   * pino child costs a few KB per connection, and logging is rare next to idle holding.
   */
  get log(): Logger {
    return this.server.log.child({ sid: this.id });
  }

  get secure(): boolean {
    return !!this.transport.tlsSocket || this.transport.secureViaProxy === true;
  }
  get authenticated(): boolean {
    return this.username !== undefined;
  }
  get bound(): boolean {
    return this.resource !== undefined;
  }
  get bareJid(): string {
    return `${this.username}@${this.server.config.domain}`;
  }

  // --- parser events -------------------------------------------------------------

  onStreamStart(name: string, ns: string, attrs: Record<string, string>, defaultNs: string | undefined): void {
    if (this.headerSeen) return this.close(streamErrors.duplicateHeader);
    this.headerSeen = true;
    const framed = this.transport.framed;
    // Always answer with a header before any error, as RFC 6120 §4.9.1.2 requires.
    this.sendHeader(attrs);
    if (framed ? ns !== NS_FRAMING || name !== "open" : ns !== NS_STREAM || name !== "stream") return this.close(streamErrors.badNamespace);
    if (!framed && defaultNs !== NS_CLIENT) return this.close(streamErrors.badNamespace);
    const to = (attrs.to ?? "").toLowerCase().replace(/\.$/, "");
    if (to !== this.server.config.domain) return this.close(streamErrors.hostUnknown);
    const version = attrs.version ?? "0.9";
    if (!/^1\.\d+$/.test(version)) return this.close(streamErrors.unsupportedVersion);
    void this.sendFeatures();
  }

  onStanza(el: Element): void {
    if (!this.headerSeen) return;
    const ns = el.attrs.xmlns;
    if (ns === NS_CLIENT && (el.name === "message" || el.name === "presence" || el.name === "iq")) {
      this.stanzasIn++;
      if (!this.bound) {
        // Before binding only the bind and legacy session IQs are allowed (RFC 6120 §7.1);
        // before authentication, only the IQs a feature takes (in-band registration).
        if (this.authenticated && el.name === "iq") return this.inOrder(() => this.dispatchNonza(el));
        if (el.name === "iq") return this.inOrder(() => this.dispatchUnauthenticated(el));
        return this.close(streamErrors.notAuthorized);
      }
      this.inOrder(() => this.server.router.fromClient(this, el));
      return;
    }
    this.inOrder(() => this.dispatchNonza(el));
  }

  private queue: Promise<void> | undefined;
  /**
   * Handles elements one after another in arrival order (RFC 6120 §10.1), even when a handler
   * waits for storage; with nothing pending the work starts at once, synchronously.
   */
  private inOrder(work: () => Promise<void>): void {
    const run = () => work().catch((err) => this.internalError(err));
    const p = this.queue ? this.queue.then(run) : run();
    this.queue = p;
    void p.then(() => {
      if (this.queue === p) this.queue = undefined;
    });
  }

  onStreamEnd(): void {
    this.close();
  }

  onError(kind: ParseErrorKind, message: string, cause?: unknown): void {
    if (kind === "internal") this.log.error({ err: cause, message }, "the stream parser failed");
    const def =
      kind === "restricted-xml"
        ? streamErrors.restrictedXml
        : kind === "policy-violation"
          ? streamErrors.stanzaTooBig
          : kind === "too-deep"
            ? streamErrors.stanzaTooDeep
            : kind === "internal"
              ? streamErrors.internal
              : kind === "bad-namespace-prefix"
                ? streamErrors.badPrefix
                : streamErrors.notWellFormed;
    if (!this.headerSeen) {
      this.headerSeen = true;
      this.sendHeader({});
    }
    this.close(def);
  }

  // --- negotiation -----------------------------------------------------------------

  private async dispatchNonza(el: Element): Promise<void> {
    try {
      const ns = el.attrs.xmlns ?? "";
      const handled = await this.server.bus.fire(`nonza/${ns}:${el.name}`, { session: this, element: el });
      if (handled === undefined && !this.closed) {
        this.close(this.authenticated ? streamErrors.unsupportedStanza : streamErrors.notAuthorized);
      }
    } catch (err) {
      this.internalError(err);
    }
  }

  private async dispatchUnauthenticated(el: Element): Promise<void> {
    const handled = await this.server.bus.fire("iq/unauthenticated", { session: this, element: el });
    if (handled === undefined && !this.closed) this.close(streamErrors.notAuthorized);
  }

  private sendHeader(clientAttrs: Record<string, string>): void {
    this.streamId = randomId(12);
    const domain = this.server.config.domain;
    const lang = clientAttrs["xml:lang"] ? ` xml:lang='${escapeAttr(clientAttrs["xml:lang"])}'` : " xml:lang='en'";
    const to = clientAttrs.from ? ` to='${escapeAttr(clientAttrs.from)}'` : "";
    if (this.transport.framed) {
      this.transport.write(`<open xmlns='${NS_FRAMING}' from='${domain}' id='${this.streamId}' version='1.0'${lang}${to}/>`);
    } else {
      this.transport.write(
        `<?xml version='1.0'?><stream:stream xmlns='${NS_CLIENT}' xmlns:stream='${NS_STREAM}' from='${domain}' id='${this.streamId}' version='1.0'${lang}${to}>`,
      );
    }
  }

  /** Sends <stream:features/>, filled by every feature that has something to offer at this stage. */
  async sendFeatures(): Promise<void> {
    const features = new Element("stream:features");
    await this.server.bus.emit("stream-features", { session: this, features }, (e) => this.log.error({ err: e }, "stream-features handler failed"));
    if (!this.closed) this.transport.write(features.toString());
  }

  /** Expects a new stream header on the same transport (after STARTTLS or legacy SASL). */
  restartStream(): void {
    this.headerSeen = false;
    this.parser.reset();
  }

  /** Called once SASL succeeded. */
  markAuthenticated(username: string, mechanism: string): void {
    this.username = username;
    this.authMechanism = mechanism;
    this.parser.setMaxStanzaSize(this.server.config.c2s_stanza_size_limit);
    if (this.authTimer) {
      clearTimeout(this.authTimer);
      this.authTimer = undefined;
    }
    const idle = this.server.config.c2s_idle_timeout * 1000;
    this.transport.setIdleTimeout(idle, () => this.onIdle());
  }

  private onIdle(): void {
    if (!this.sm?.onIdle()) this.close(streamErrors.idleTimeout);
  }

  // --- output ----------------------------------------------------------------------

  /** Sends a stanza or nonza. Stanzas pass the outbound filters (stream management). */
  send(el: Element): void {
    if (this.closed) return;
    if (this.outFilters) {
      for (const f of this.outFilters) {
        const r = f(el);
        if (!r) return;
        el = r;
      }
    }
    if (this.held) this.held.push(el.toString());
    else if (!this.hibernating) this.transport.write(el.toString());
  }

  private held: string[] | undefined;
  /** Holds stanzas back (SASL2: a resource is bound before <success> is written). */
  holdOutput(): void {
    this.held ??= [];
  }
  /** Writes `first` (the <success>), then whatever was held back. */
  releaseOutput(first?: Element): void {
    const held = this.held ?? [];
    this.held = undefined;
    if (first) this.sendRaw(first.toString());
    for (const s of held) this.sendRaw(s);
  }

  /** Writes raw, already-serialised XML (no filters): for nonzas on the hot path. */
  sendRaw(xml: string): void {
    if (!this.closed && !this.hibernating) this.transport.write(xml);
  }

  /** Closes the stream, with a stream error when given. Safe to call more than once. */
  close(error?: StreamErrorDef, text?: string): void {
    if (this.closed) return;
    this.closed = true;
    this.parser.stop();
    // A stream error follows a stream header, ours for this stream (RFC 6120 §4.9.1.2), even when the client never sent one.
    if (error && !this.headerSeen && !this.hibernating) {
      this.headerSeen = true;
      this.sendHeader({});
    }
    // A hibernating session has no connection to say goodbye on; its end counts as abrupt.
    if (!this.hibernating) this.endTransport(this.transport, error, text);
    this.finish(error, this.hibernating);
  }

  private endTransport(t: Transport, error?: StreamErrorDef, text?: string): void {
    if (error) t.write(streamErrorElement(error, text).toString());
    t.write(t.framed ? `<close xmlns='${NS_FRAMING}'/>` : "</stream:stream>");
    t.end();
  }

  private onTransportClosed(): void {
    if (this.closed || this.hibernating) {
      return;
    }
    // Stream management may keep the session, without a connection, for a resumption.
    if (this.sm?.onAbruptClose()) {
      this.hibernating = true;
      return;
    }
    this.closed = true;
    this.finish(undefined, true);
  }

  // --- stream management (XEP-0198) ------------------------------------------------

  /**
   * Drops the connection but keeps the session (now hibernating): a resumption on another
   * connection is taking the session over while its old connection is still open. The old
   * connection gets `error` and is closed; nothing from it reaches the session any more.
   */
  detachTransport(error: StreamErrorDef): void {
    if (this.closed || this.hibernating) return;
    this.hibernating = true;
    const t = this.transport;
    t.onData(() => {});
    t.onClose(() => {});
    t.onOverflow(() => {});
    t.setIdleTimeout(0, () => {});
    this.endTransport(t, error);
  }

  /**
   * Resumption: this hibernating session takes over the connection of `fresh`, the new stream
   * that authenticated and asked to resume it — transport, parser (with its stream state and
   * anything already buffered) and stream id. `fresh` ends without a session-closed event: it
   * never was a session of its own.
   */
  takeOver(fresh: Session): void {
    if (!(fresh instanceof ClientStream) || this.closed || !this.hibernating || fresh.closed)
      throw new Error("takeOver: not a hibernating session and a live stream");
    this.transport = fresh.transport;
    this.parser = fresh.parser;
    this.parser.setEvents(this);
    this.headerSeen = fresh.headerSeen;
    this.streamId = fresh.streamId;
    this.attach(this.transport);
    this.transport.setIdleTimeout(this.server.config.c2s_idle_timeout * 1000, () => this.onIdle());
    this.hibernating = false;
    fresh.closed = true;
    fresh.finished = true;
    if (fresh.authTimer) {
      clearTimeout(fresh.authTimer);
      fresh.authTimer = undefined;
    }
    this.server.handOverStream(fresh, this);
  }

  private finished = false;
  private finish(error: StreamErrorDef | undefined, abrupt = false): void {
    if (this.finished) return;
    this.finished = true;
    if (this.authTimer) clearTimeout(this.authTimer);
    this.server.sessionClosed(this, error, abrupt);
  }

  private internalError(err: unknown): void {
    this.log.error({ err }, "internal error while handling an element");
    this.close(streamErrors.internal);
  }
}
