// XMPP over WebSocket (RFC 7395) at /xmpp-websocket: each WebSocket message is one whole
// element; <open/> and <close/> replace the stream header and footer. The session, SASL,
// SASL2/FAST, stream management and client tracking are the same as over TCP.
import type tls from "node:tls";
import { WebSocketServer, type WebSocket } from "ws";
import type { Server } from "../core/server.js";
import type { Transport } from "../core/transport.js";
import { escapeAttr } from "../xml/element.js";
import { streamErrors, streamErrorElement } from "../core/errors.js";
import { defineFeature } from "../core/feature.js";

export const WEBSOCKET_PATH = "/xmpp-websocket";
const NS_STREAM = "http://etherx.jabber.org/streams";
const NS_FRAMING = "urn:ietf:params:xml:ns:xmpp-framing";

/**
 * Every frame must be a standalone document (RFC 7395 §3.3.3): the session writes elements as
 * it would into a TCP stream, so the namespaces that a stream header would have declared are
 * added here, to the frame's top element only.
 */
export function frame(xml: string): string {
  if (xml.startsWith("<stream:")) {
    const end = xml.search(/[\s/>]/);
    return `${xml.slice(0, end)} xmlns:stream='${NS_STREAM}'${xml.slice(end)}`;
  }
  const tagEnd = xml.indexOf(">");
  const head = xml.slice(0, tagEnd);
  if (/^<(message|presence|iq)[\s/>]/.test(xml) && !/\sxmlns=/.test(head)) {
    const end = xml.search(/[\s/>]/);
    return `${xml.slice(0, end)} xmlns='jabber:client'${xml.slice(end)}`;
  }
  return xml;
}

/** Bytes of unsent output past which nothing more is read from the client (as for TCP: src/core/transport.ts). */
const PAUSE_AT = 16 * 1024;

/**
 * Backpressure as over TCP: while the client's output (ws bufferedAmount) is backed up, its
 * frames are not read; past c2s_send_buffer_limit the session ends (onOverflow).
 */
class WebSocketTransport implements Transport {
  readonly kind = "websocket";
  readonly framed = true;
  private dataCb?: (chunk: string) => void;
  private closeCb?: () => void;
  private overflowCb?: () => void;
  private drainWaiters: Array<() => void> = [];
  private idle?: NodeJS.Timeout;
  private idleMs = 0;
  private onIdle?: () => void;

  constructor(
    private readonly ws: WebSocket,
    readonly remoteAddress: string,
    readonly tlsSocket: tls.TLSSocket | undefined,
    readonly secureViaProxy: boolean,
    private readonly sendBufferLimit: number,
  ) {
    ws.on("message", (data, isBinary) => {
      this.bump();
      if (isBinary) return this.ws.close(1003, "XMPP frames are text");
      // A text frame arrives as one Buffer; fragments (Buffer[]) and ArrayBuffers are joined first.
      this.dataCb?.((Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)).toString());
    });
    ws.on("close", () => {
      if (this.idle) clearTimeout(this.idle);
      this.wakeDrained();
      this.closeCb?.();
    });
    ws.on("error", () => {});
  }

  canStartTls(): boolean {
    return false;
  }
  startTls(done: (err?: Error) => void): void {
    done(new Error("STARTTLS is not available over WebSocket"));
  }

  write(data: string): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(frame(data), this.onSent);
    const buffered = this.ws.bufferedAmount;
    if (buffered > this.sendBufferLimit) {
      this.overflowCb?.();
      return;
    }
    if (buffered > PAUSE_AT && !this.ws.isPaused) this.ws.pause();
  }

  /** A frame left for the socket: read again, and wake drained(), once the backlog is small. */
  private readonly onSent = () => {
    if (this.ws.bufferedAmount > PAUSE_AT) return;
    if (this.ws.isPaused && this.ws.readyState === this.ws.OPEN) this.ws.resume();
    this.wakeDrained();
  };

  private wakeDrained(): void {
    const w = this.drainWaiters;
    this.drainWaiters = [];
    for (const f of w) f();
  }

  drained(): Promise<void> {
    if (this.ws.bufferedAmount <= PAUSE_AT || this.ws.readyState !== this.ws.OPEN) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  end(): void {
    this.ws.close(1000);
    setTimeout(() => this.ws.terminate(), 2000).unref();
  }

  destroy(): void {
    this.ws.terminate();
  }

  setIdleTimeout(ms: number, onTimeout: () => void): void {
    this.idleMs = ms;
    this.onIdle = onTimeout;
    this.bump();
  }

  private bump(): void {
    if (!this.idleMs) return;
    if (this.idle) this.idle.refresh();
    else {
      this.idle = setTimeout(() => {
        this.idle = undefined;
        this.onIdle?.();
      }, this.idleMs);
      this.idle.unref();
    }
  }

  onData(cb: (chunk: string) => void): void {
    this.dataCb = cb;
  }
  onClose(cb: () => void): void {
    this.closeCb = cb;
  }
  onOverflow(cb: () => void): void {
    this.overflowCb = cb;
  }
}

export default defineFeature({ name: "websocket", needs: ["http"], setup: websocket });

/**
 * Serves RFC 7395 on the HTTP service's upgrade requests to WEBSOCKET_PATH, and XEP-0156
 * discovery of it (/.well-known/host-meta and host-meta.json).
 */
function websocket(server: Server): () => void {
  const wss = new WebSocketServer({
    noServer: true,
    // ws buffers a whole message before we see it: refuse (1009) any larger than a stanza may
    // be, checked on the frame header before the payload is read. Stanzas within it still meet
    // the stream parser's bounds (the smaller one before authentication). No compression, so
    // the bound is on what crosses the wire and no small frame inflates into a large one.
    maxPayload: server.config.c2s_stanza_size_limit + 1024,
    perMessageDeflate: false,
    // RFC 7395 §3.1: the "xmpp" subprotocol must be offered and is the only one spoken.
    handleProtocols: (protocols) => (protocols.has("xmpp") ? "xmpp" : false),
  });
  // `secure`: our TLS listener; `ip` and `https`: the client's address and TLS as a trusted
  // reverse proxy reports them (X-Forwarded-For, X-Forwarded-Proto), else the socket's own.
  server.bus.on("http-upgrade", ({ req, socket, head, secure, ip: clientIp, https }) => {
    const path = (req.url ?? "").split("?")[0];
    if (path !== WEBSOCKET_PATH) return undefined;
    const ip = clientIp ?? req.socket.remoteAddress ?? "unknown";
    if (!server.admits(ip)) {
      // Refused after the upgrade rather than with a bare 503, so that the client can tell the
      // person why: the catalogue's stream error, then <close/> (RFC 7395 §3.6.1).
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.on("error", () => {});
        ws.send(`<open xmlns='${NS_FRAMING}' from='${escapeAttr(server.config.domain)}' version='1.0'/>`);
        ws.send(frame(streamErrorElement(streamErrors.tooManyConnections).toString()));
        ws.send(`<close xmlns='${NS_FRAMING}'/>`);
        ws.close(1000);
        setTimeout(() => ws.terminate(), 2000).unref();
      });
      return true;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (ws.protocol !== "xmpp") {
        ws.close(1002, "the xmpp subprotocol is required");
        return;
      }
      const tlsSocket = secure ? (req.socket as tls.TLSSocket) : undefined;
      server.openStream(new WebSocketTransport(ws, ip, tlsSocket, !secure && https === true, server.config.c2s_send_buffer_limit), ip).data.transport =
        "websocket";
    });
    return true;
  });

  // A ws:// stream that must be encrypted and cannot be (there is no STARTTLS over WebSocket, and
  // no trusted proxy said it ended TLS) would get features with nothing to log in with, and wait
  // forever: it is told why instead, and closed. (The header is out already, as RFC 6120 §4.9.1.2 wants.)
  server.bus.on(
    "stream-features",
    ({ session }) => {
      if (session.transport.kind !== "websocket" || session.secure || session.authenticated || !server.config.c2s_require_encryption) return;
      session.close(streamErrors.websocketNotEncrypted);
    },
    "first",
  );

  // XEP-0156: where to connect. The URL follows the request's scheme and host.
  const wsUrl = (base: string) => base.replace(/^http/, "ws") + WEBSOCKET_PATH;
  server.services.get("http").route("GET", "/.well-known/host-meta", (req) => {
    const body = `<?xml version='1.0' encoding='utf-8'?>\n<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>\n  <Link rel='urn:xmpp:alt-connections:websocket' href='${escapeAttr(wsUrl(req.base))}'/>\n</XRD>\n`;
    req.res.writeHead(200, { "Content-Type": "application/xrd+xml; charset=utf-8", "Access-Control-Allow-Origin": "*" });
    req.res.end(body);
  });
  server.services.get("http").route("GET", "/.well-known/host-meta.json", (req) => {
    req.res.writeHead(200, { "Content-Type": "application/json", "Access-Control-Allow-Origin": "*" });
    req.res.end(JSON.stringify({ links: [{ rel: "urn:xmpp:alt-connections:websocket", href: wsUrl(req.base) }] }));
  });
  return () => wss.close();
}
