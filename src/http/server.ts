// The one HTTP(S) service every HTTP feature shares (OAuth 2.0, the REST API, later WebSocket
// and the account page): plain listeners (default 5280 on loopback, for a reverse proxy) and
// TLS listeners with the server's certificate (default 5281), security headers on every
// response, request size and time limits, errors as OAuth-style JSON, and a tiny router of
// exact paths. Features add routes with `server.services.get("http").route(...)`; WebSocket takes upgrades from
// the bus event "http-upgrade" ({ req, socket, head }: return true when taken).
import http from "node:http";
import net from "node:net";
import { createHash } from "node:crypto";
import type { Server } from "../core/server.js";
import { listen } from "../core/listen.js";
import { defineFeature } from "../core/feature.js";
import type { RateLimits } from "../state/rate-limits.js";

declare module "../core/services.js" {
  interface Services {
    http: HttpService;
  }
}

/** An error to answer as JSON in the OAuth format: {"error": code, "error_description": text}. */
export class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, readonly description?: string, readonly headers: Record<string, string> = {}) {
    super(description ?? code);
    this.name = "HttpError";
  }
}

export interface HttpRequest {
  readonly raw: http.IncomingMessage;
  readonly res: http.ServerResponse;
  readonly method: string;
  readonly url: URL;
  /** The client's address (through a trusted proxy's X-Forwarded-For). */
  readonly ip: string;
  /** TLS to the client (our TLS listener, or a trusted proxy that says https). */
  readonly secure: boolean;
  /** The public base URL (no trailing slash): http_external_url, or scheme + Host of this request. */
  readonly base: string;
  header(name: string): string | undefined;
  /** The body, at most http_max_body bytes (413 beyond). */
  body(): Promise<Buffer>;
  /** An application/x-www-form-urlencoded body (415 for another type). */
  form(): Promise<URLSearchParams>;
  /** An application/json body (415 for another type, 400 when not JSON). */
  json(): Promise<unknown>;
}

export type HttpHandler = (req: HttpRequest) => Promise<void> | void;

interface RouteOptions {
  /** Answer CORS requests from any origin (bearer-token and OAuth client endpoints; never cookies). */
  cors?: boolean;
}

interface Route { handler: HttpHandler; opts: RouteOptions }

export interface HttpListenerInfo { address: string; port: number; tls: boolean }

const MAX_URL = 8192;
const HOST_RE = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

/** Headers on every response. */
const BASE_HEADERS: Record<string, string> = {
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cache-Control": "no-store",
  "Pragma": "no-cache",
};

function plainIp(a: string | undefined): string {
  if (!a) return "unknown";
  return a.startsWith("::ffff:") && net.isIPv4(a.slice(7)) ? a.slice(7) : a;
}

export default defineFeature({ name: "http", provides: ["http"], setup: httpFeature });

// --- responses -------------------------------------------------------------------------------

export function sendJson(req: HttpRequest, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  const res = req.res;
  if (res.headersSent) return;
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.setHeader("Content-Type", "application/json; charset=utf-8");
  res.setHeader("Content-Length", Buffer.byteLength(text));
  res.writeHead(status);
  res.end(req.method === "HEAD" ? undefined : text);
}

export function sendError(req: HttpRequest, err: HttpError): void {
  const body: Record<string, string> = { error: err.code };
  if (err.description) body.error_description = err.description;
  sendJson(req, err.status, body, err.headers);
}

/** sha256-… source expression of an inline style, for a Content-Security-Policy. */
export function cspHash(text: string): string {
  return `'sha256-${createHash("sha256").update(text).digest("base64")}'`;
}

export interface HtmlOptions {
  /** Style blocks the page carries inline (allowed by hash). */
  styles?: string[];
  /** Where the page's forms may send the browser (besides 'self'), e.g. an OAuth redirect's origin. */
  formAction?: string[];
  headers?: Record<string, string>;
}

export function sendHtml(req: HttpRequest, status: number, html: string, opts: HtmlOptions = {}): void {
  const res = req.res;
  if (res.headersSent) return;
  const style = opts.styles?.length ? `; style-src ${opts.styles.map(cspHash).join(" ")}` : "";
  const action = ["'self'", ...(opts.formAction ?? [])].join(" ");
  res.setHeader("Content-Security-Policy", `default-src 'none'${style}; form-action ${action}; frame-ancestors 'none'; base-uri 'none'`);
  res.setHeader("Cross-Origin-Resource-Policy", "same-origin");
  for (const [k, v] of Object.entries(opts.headers ?? {})) res.setHeader(k, v);
  res.setHeader("Content-Type", "text/html; charset=utf-8");
  res.setHeader("Content-Length", Buffer.byteLength(html));
  res.writeHead(status);
  res.end(req.method === "HEAD" ? undefined : html);
}

export function redirect(req: HttpRequest, location: string, status = 303): void {
  const res = req.res;
  if (res.headersSent) return;
  res.setHeader("Location", location);
  res.setHeader("Content-Length", 0);
  res.writeHead(status);
  res.end();
}

// --- rate limiting ---------------------------------------------------------------------------

/**
 * Per-IP limits of an endpoint group (an IP address and a group name make the key), counted in
 * the shared request counts (src/state/rate-limits.ts) that the composition root provides.
 */
export class RateLimiter {
  constructor(private readonly counts: RateLimits, private readonly perMinute: () => number) {}

  /** Counts a request; throws 429 (with Retry-After) past the limit. */
  take(key: string, now = Date.now()): void {
    const retry = this.counts.hit(key, this.perMinute(), now);
    if (retry !== undefined) throw new HttpError(429, "slow_down", "Too many requests; try again later", { "Retry-After": String(retry) });
  }
}

// --- the service -----------------------------------------------------------------------------

export class HttpService {
  readonly listeners: HttpListenerInfo[] = [];
  private readonly servers: http.Server[] = [];
  private readonly routes = new Map<string, Map<string, Route>>();
  private readonly trusted: Set<string>;

  constructor(private readonly server: Server) {
    this.trusted = new Set(server.config.http_trusted_proxies.map(plainIp));
  }

  /** Adds a route for an exact path. GET routes also answer HEAD. */
  route(method: string, path: string, handler: HttpHandler, opts: RouteOptions = {}): void {
    const m = this.routes.get(path) ?? new Map<string, Route>();
    if (m.has(method)) throw new Error(`HTTP route ${method} ${path} is already taken`);
    m.set(method, { handler, opts });
    this.routes.set(path, m);
  }

  async start(): Promise<void> {
    const cfg = this.server.config;
    for (const host of cfg.http_interfaces) for (const port of cfg.http_ports) await this.listenOn(host, port, false);
    for (const host of cfg.https_interfaces) for (const port of cfg.https_ports) await this.listenOn(host, port, true);
  }

  private async listenOn(host: string, port: number, secure: boolean): Promise<void> {
    const opts: http.ServerOptions = { maxHeaderSize: 16 * 1024, requestTimeout: 30_000, headersTimeout: 15_000, keepAliveTimeout: 5_000 };
    const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => { void this.handle(req, res, secure); };
    const srv = http.createServer(opts, onRequest);
    srv.maxHeadersCount = 100;
    if (secure) {
      // Not https.createServer: its handshake timeout is an idle timer and its handshakes are
      // not counted. The TLS comes from server.tlsAccept (counted from accept, a fixed
      // deadline), then the socket goes to the HTTP server's own connection listener, which is
      // what https.Server does once its handshake is done.
      const plain = srv.listeners("connection") as Array<(s: net.Socket) => void>;
      if (plain.length !== 1) throw new Error("unexpected 'connection' listeners on the HTTP server");
      srv.removeAllListeners("connection");
      srv.on("connection", this.server.tlsAccept(["http/1.1"], (s) => plain[0]!.call(srv, s)));
    }
    srv.on("clientError", (err: NodeJS.ErrnoException, socket) => {
      // Node's own answers to what its parser refuses, kept as specific as Node makes them.
      const status = err.code === "HPE_HEADER_OVERFLOW" ? "431 Request Header Fields Too Large"
        : err.code === "ERR_HTTP_REQUEST_TIMEOUT" ? "408 Request Timeout" : "400 Bad Request";
      if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      else socket.destroy();
    });
    srv.on("upgrade", (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      socket.on("error", () => {});
      // ip and https: the client's address and whether it reached us over TLS, through a trusted proxy too.
      const client = this.clientOf(req, secure);
      void this.server.bus.fire("http-upgrade", { req, socket, head, secure, ip: client.ip, https: client.secure }).then((taken) => {
        if (!taken) socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      }, (err) => { this.server.log.error({ err }, "http upgrade failed"); socket.destroy(); });
    });
    this.servers.push(srv);
    const addr = await listen(srv, port, host);
    this.listeners.push({ address: addr.address, port: addr.port, tls: secure });
    this.server.log.info({ address: addr.address, port: addr.port, tls: secure ? "tls" : "plain" }, "http listening");
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    })));
  }

  /** The first TLS listener's port (for URLs given out where there is no request to go by). */
  get httpsPort(): number | undefined { return this.listeners.find((l) => l.tls)?.port; }

  private clientOf(raw: http.IncomingMessage, tlsListener: boolean): { ip: string; secure: boolean } {
    let ip = plainIp(raw.socket.remoteAddress);
    let secure = tlsListener;
    if (this.trusted.has(ip)) {
      const xff = raw.headers["x-forwarded-for"];
      if (typeof xff === "string") {
        // The first address from the right that is not one of our proxies.
        const hops = xff.split(",").map((s) => plainIp(s.trim())).filter((s) => s !== "");
        while (hops.length > 0 && this.trusted.has(hops[hops.length - 1]!)) hops.pop();
        const client = hops.pop();
        if (client && net.isIP(client)) ip = client;
      }
      const proto = raw.headers["x-forwarded-proto"];
      if (proto === "https") secure = true;
    }
    return { ip, secure };
  }

  private async handle(raw: http.IncomingMessage, res: http.ServerResponse, tlsListener: boolean): Promise<void> {
    const started = Date.now();
    for (const [k, v] of Object.entries(BASE_HEADERS)) res.setHeader(k, v);
    if (tlsListener) res.setHeader("Strict-Transport-Security", "max-age=31536000");
    const { ip, secure } = this.clientOf(raw, tlsListener);
    const method = raw.method ?? "GET";
    let bodyPromise: Promise<Buffer> | undefined;
    const cfg = this.server.config;
    const host = raw.headers.host;
    const base = cfg.http_external_url ?? (host && HOST_RE.test(host) ? `${secure ? "https" : "http"}://${host.toLowerCase()}` : "");
    const body = (): Promise<Buffer> => (bodyPromise ??= readBody(raw, cfg.http_max_body));
    const reqObj = {
      raw, res, method, ip, secure, base,
      url: undefined as unknown as URL,
      header: (name: string) => {
        const v = raw.headers[name.toLowerCase()];
        return Array.isArray(v) ? v.join(", ") : v;
      },
      body,
      form: async (): Promise<URLSearchParams> => {
        if (mediaType(raw) !== "application/x-www-form-urlencoded") throw new HttpError(415, "invalid_request", "The body must be application/x-www-form-urlencoded");
        let text: string;
        try { text = utf8.decode(await body()); } catch (err) {
          if (err instanceof HttpError) throw err;
          throw new HttpError(400, "invalid_request", "The body is not UTF-8");
        }
        return new URLSearchParams(text);
      },
      json: async (): Promise<unknown> => {
        if (mediaType(raw) !== "application/json") throw new HttpError(415, "invalid_request", "The body must be application/json");
        const buf = await body();
        try { return JSON.parse(buf.toString("utf8")) as unknown; } catch { throw new HttpError(400, "invalid_request", "The body is not valid JSON"); }
      },
    } satisfies HttpRequest;
    const req: HttpRequest = reqObj;
    try {
      if ((raw.url?.length ?? 0) > MAX_URL) throw new HttpError(414, "invalid_request", "The URL is too long");
      if (!base) throw new HttpError(400, "invalid_request", "Missing or invalid Host header");
      let url: URL;
      try { url = new URL(raw.url ?? "/", base); } catch { throw new HttpError(400, "invalid_request", "Invalid request URL"); }
      reqObj.url = url;
      const declared = Number(raw.headers["content-length"] ?? 0);
      if (declared > cfg.http_max_body) throw new HttpError(413, "invalid_request", "The request body is too large");
      const routes = this.routes.get(url.pathname);
      if (!routes) throw new HttpError(404, "not_found", "No such endpoint");
      const cors = [...routes.values()].some((r) => r.opts.cors);
      if (cors && raw.headers.origin) {
        res.setHeader("Access-Control-Allow-Origin", "*");
        res.setHeader("Access-Control-Expose-Headers", "WWW-Authenticate, Retry-After");
      }
      if (method === "OPTIONS" && cors) {
        res.setHeader("Access-Control-Allow-Methods", [...routes.keys()].join(", "));
        res.setHeader("Access-Control-Allow-Headers", "Authorization, Content-Type");
        res.setHeader("Access-Control-Max-Age", "600");
        res.setHeader("Content-Length", 0);
        res.writeHead(204);
        res.end();
        return;
      }
      const route = routes.get(method) ?? (method === "HEAD" ? routes.get("GET") : undefined);
      if (!route) {
        const allow = [...routes.keys()];
        throw new HttpError(405, "invalid_request", `Use ${allow.join(" or ")}`, { Allow: allow.join(", ") });
      }
      await route.handler(req);
      if (!res.headersSent) throw new Error(`no response from ${method} ${url.pathname}`);
    } catch (err) {
      if (err instanceof HttpError) {
        if (err.status === 413) res.setHeader("Connection", "close");
        sendError(req, err);
      }
      else {
        this.server.log.error({ err, method, path: reqObj.url?.pathname }, "http request failed");
        sendError(req, new HttpError(500, "server_error", "Internal server error"));
      }
    } finally {
      // Only the path: query strings carry authorization codes, states and user codes.
      this.server.log.debug({ method, path: reqObj.url?.pathname, status: res.statusCode, ms: Date.now() - started }, "http request");
    }
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function mediaType(raw: http.IncomingMessage): string {
  return (raw.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
}

function readBody(raw: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    raw.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        raw.removeAllListeners("data");
        raw.resume();
        reject(new HttpError(413, "invalid_request", "The request body is too large"));
        return;
      }
      chunks.push(c);
    });
    raw.on("end", () => resolve(Buffer.concat(chunks)));
    raw.on("error", () => reject(new HttpError(400, "invalid_request", "The request was cut short")));
  });
}

/** The feature: creates `server.services.get("http")` and starts its listeners. */
async function httpFeature(server: Server): Promise<() => Promise<void>> {
  const service = new HttpService(server);
  server.services.provide("http", service);
  await service.start();
  return () => service.stop();
}
