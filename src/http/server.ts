// The one HTTP(S) service every HTTP feature shares (OAuth 2.0, the REST API, later WebSocket
// and the account page): plain listeners (default 5280 on loopback, for a reverse proxy) and
// TLS listeners with the server's certificate (default 5281), security headers on every
// response, request size and time limits, errors as OAuth-style JSON, and a tiny router of
// exact paths (and of prefixes, for file upload's /upload/<id>/<name>). Features add routes
// with `server.services.get("http").route(...)`; WebSocket takes upgrades from the bus event
// "http-upgrade" ({ req, socket, head }: return true when taken).
import http from "node:http";
import net from "node:net";
import type { Server } from "../core/server.js";
import { listen } from "../core/listen.js";
import { HttpError, httpErrors, type HttpErrorDef } from "../core/errors.js";
import { clientOf, makeRequest, plainIp, type HttpHandler, type HttpRequest } from "./request.js";
import { sendError } from "./respond.js";
import { RequestDeadline, connectionStarted } from "./deadline.js";
import { defineFeature } from "../core/feature.js";

declare module "../core/services.js" {
  interface Services {
    http: HttpService;
  }
}

// What the features use, from one place: errors come from the catalogue (src/core/errors.ts),
// requests from request.ts, answers from respond.ts, limits from rate-limit.ts.
export { HttpError };
export type { HttpHandler, HttpRequest };
export { cspHash, redirect, sendError, sendHtml, sendJson, type HtmlOptions } from "./respond.js";
export { RateLimiter } from "./rate-limit.js";
export { lateError } from "./deadline.js";

interface RouteOptions {
  /** Answer CORS requests from any origin (bearer-token and OAuth client endpoints; never cookies). */
  cors?: boolean;
  /** Also every path under this one (which ends in "/"): the handler reads the rest from req.url. */
  prefix?: boolean;
  /** The handler reads the body itself, with its own limit (file upload): http_max_body does not apply. */
  ownBody?: boolean;
}

interface Route {
  handler: HttpHandler;
  opts: RouteOptions;
}

export interface HttpListenerInfo {
  address: string;
  port: number;
  tls: boolean;
}

const MAX_URL = 8192;

/** Headers on every response. */
const BASE_HEADERS: Record<string, string> = {
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cache-Control": "no-store",
  Pragma: "no-cache",
};

export default defineFeature({ name: "http", provides: ["http"], setup: httpFeature });

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

  /** The longest prefix route the path is under. */
  private prefixOf(path: string): string | undefined {
    let best: string | undefined;
    for (const [p, m] of this.routes) {
      if (p.endsWith("/") && path.startsWith(p) && (best === undefined || p.length > best.length) && [...m.values()].some((r) => r.opts.prefix)) best = p;
    }
    return best;
  }

  /** The path as logged: under a prefix route only the prefix, since the rest may be a capability (a file's URL). */
  private loggedPath(url: URL | undefined): string | undefined {
    if (!url || this.routes.has(url.pathname)) return url?.pathname;
    const prefix = this.prefixOf(url.pathname);
    return prefix === undefined ? url.pathname : `${prefix}…`;
  }

  async start(): Promise<void> {
    const cfg = this.server.config;
    for (const host of cfg.http_interfaces) for (const port of cfg.http_ports) await this.listenOn(host, port, false);
    for (const host of cfg.https_interfaces) for (const port of cfg.https_ports) await this.listenOn(host, port, true);
  }

  private async listenOn(host: string, port: number, secure: boolean): Promise<void> {
    // No requestTimeout: deadline.ts keeps one per request (Node's is one for the whole server).
    // Headers stay Node's: checked every second rather than every 30 s (its default), so a
    // request that never finishes its headers is closed close to headersTimeout.
    const headersTimeout = Math.min(15_000, this.server.config.http_request_timeout * 1000);
    const opts: http.ServerOptions = {
      maxHeaderSize: 16 * 1024,
      requestTimeout: 0,
      headersTimeout,
      connectionsCheckingInterval: 1000,
      keepAliveTimeout: 5_000,
    };
    const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
      void this.handle(req, res, secure);
    };
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
      srv.on(
        "connection",
        this.server.tlsAccept(["http/1.1"], (s) => {
          connectionStarted(s);
          plain[0]!.call(srv, s);
        }),
      );
    } else srv.on("connection", connectionStarted);
    srv.on("clientError", (err: NodeJS.ErrnoException, socket) => {
      // Node's own answers to what its parser refuses, kept as specific as Node makes them.
      const e =
        err.code === "HPE_HEADER_OVERFLOW"
          ? httpErrors.headersTooLarge
          : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
            ? httpErrors.requestTimeout
            : httpErrors.badRequest;
      if (socket.writable) socket.end(bareResponse(e));
      else socket.destroy();
    });
    srv.on("upgrade", (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      socket.on("error", () => {});
      // ip and https: the client's address and whether it reached us over TLS, through a trusted proxy too.
      const client = this.clientOf(req, secure);
      void this.server.bus.fire("http-upgrade", { req, socket, head, secure, ip: client.ip, https: client.secure }).then(
        (taken) => {
          if (!taken) socket.end(bareResponse(httpErrors.upgradeNotFound));
        },
        (err) => {
          this.server.log.error({ err }, "http upgrade failed");
          socket.destroy();
        },
      );
    });
    this.servers.push(srv);
    const addr = await listen(srv, port, host);
    this.listeners.push({ address: addr.address, port: addr.port, tls: secure });
    this.server.log.info({ address: addr.address, port: addr.port, tls: secure ? "tls" : "plain" }, "http listening");
  }

  private clientOf(raw: http.IncomingMessage, tlsListener: boolean): { ip: string; secure: boolean } {
    return clientOf(raw, tlsListener, this.trusted);
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeAllConnections();
          }),
      ),
    );
  }

  /** The first TLS listener's port (for URLs given out where there is no request to go by). */
  get httpsPort(): number | undefined {
    return this.listeners.find((l) => l.tls)?.port;
  }

  private async handle(raw: http.IncomingMessage, res: http.ServerResponse, tlsListener: boolean): Promise<void> {
    const started = Date.now();
    for (const [k, v] of Object.entries(BASE_HEADERS)) res.setHeader(k, v);
    if (tlsListener) res.setHeader("Strict-Transport-Security", "max-age=31536000");
    const cfg = this.server.config;
    const deadline = new RequestDeadline(raw, res, cfg, (err) => sendError(req, err));
    const reqObj = makeRequest(raw, res, this.clientOf(raw, tlsListener), cfg, deadline);
    const { method, base } = reqObj;
    const req: HttpRequest = reqObj;
    try {
      if ((raw.url?.length ?? 0) > MAX_URL) throw new HttpError(httpErrors.urlTooLong);
      if (!base) throw new HttpError(httpErrors.badHost);
      let url: URL;
      try {
        url = new URL(raw.url ?? "/", base);
      } catch {
        throw new HttpError(httpErrors.badUrl);
      }
      reqObj.url = url;
      const prefix = this.routes.has(url.pathname) ? undefined : this.prefixOf(url.pathname);
      const routes = this.routes.get(prefix ?? url.pathname);
      if (!routes) throw new HttpError(httpErrors.notFound);
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
      if (!route) throw new HttpError(httpErrors.methodNotAllowed([...routes.keys()]));
      const declared = Number(raw.headers["content-length"] ?? 0);
      if (!route.opts.ownBody && declared > cfg.http_max_body) throw new HttpError(httpErrors.bodyTooLarge);
      if (route.opts.ownBody) deadline.ownBody();
      await route.handler(req);
      if (!res.headersSent) throw new Error(`no response from ${method} ${url.pathname}`);
    } catch (err) {
      if (err instanceof HttpError) {
        if (err.status === 413) res.setHeader("Connection", "close");
        sendError(req, err);
      } else {
        this.server.log.error({ err, method, path: this.loggedPath(reqObj.url) }, "http request failed");
        sendError(req, new HttpError(httpErrors.internal));
      }
    } finally {
      // Only the path: query strings carry authorization codes, states and user codes.
      this.server.log.debug({ method, path: this.loggedPath(reqObj.url), status: res.statusCode, ms: Date.now() - started }, "http request");
    }
  }
}

/** A whole response written to the socket: status line, no body, and the connection closed. */
function bareResponse(e: HttpErrorDef): string {
  return `HTTP/1.1 ${e.status} ${http.STATUS_CODES[e.status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`;
}

/** The feature: creates `server.services.get("http")` and starts its listeners. */
async function httpFeature(server: Server): Promise<() => Promise<void>> {
  const service = new HttpService(server);
  server.services.provide("http", service);
  await service.start();
  return () => service.stop();
}
