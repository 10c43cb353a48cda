// One HTTP request as the features see it: who sent it (the client's address, and whether it
// reached us over TLS, through a trusted reverse proxy too), the public base URL, and its body,
// read once and at most http_max_body bytes, as a form or as JSON.
import http from "node:http";
import net from "node:net";
import type { Config } from "../core/config.js";
import { HttpError, httpErrors } from "../core/errors.js";
import { lateError, type RequestDeadline } from "./deadline.js";

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
  /** Aborted, with an HttpError (408) as reason, when the body is late (deadline.ts): readers stop at once. */
  readonly signal: AbortSignal;
  /** A route that reads its own body says how long it is: it may take that long at http_body_min_rate. */
  expectBody(bytes: number): void;
}

export type HttpHandler = (req: HttpRequest) => Promise<void> | void;

/** A request being handled: the service sets its url once the URL is checked. */
export type IncomingRequest = { -readonly [K in keyof HttpRequest]: HttpRequest[K] };

const HOST_RE = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

export function plainIp(a: string | undefined): string {
  if (!a) return "unknown";
  return a.startsWith("::ffff:") && net.isIPv4(a.slice(7)) ? a.slice(7) : a;
}

/** The client's address and TLS: the socket's, or what a trusted proxy says (X-Forwarded-For, X-Forwarded-Proto). */
export function clientOf(raw: http.IncomingMessage, tlsListener: boolean, trusted: ReadonlySet<string>): { ip: string; secure: boolean } {
  let ip = plainIp(raw.socket.remoteAddress);
  let secure = tlsListener;
  if (trusted.has(ip)) {
    const xff = raw.headers["x-forwarded-for"];
    if (typeof xff === "string") {
      // The first address from the right that is not one of our proxies.
      const hops = xff
        .split(",")
        .map((s) => plainIp(s.trim()))
        .filter((s) => s !== "");
      while (hops.length > 0 && trusted.has(hops[hops.length - 1]!)) hops.pop();
      const client = hops.pop();
      if (client && net.isIP(client)) ip = client;
    }
    const proto = raw.headers["x-forwarded-proto"];
    if (proto === "https") secure = true;
  }
  return { ip, secure };
}

/** The request object of a raw request; `base` is "" when there is neither http_external_url nor a valid Host. */
export function makeRequest(
  raw: http.IncomingMessage,
  res: http.ServerResponse,
  client: { ip: string; secure: boolean },
  cfg: Pick<Config, "http_external_url" | "http_max_body">,
  deadline: RequestDeadline,
): IncomingRequest {
  const { ip, secure } = client;
  const method = raw.method ?? "GET";
  let bodyPromise: Promise<Buffer> | undefined;
  const host = raw.headers.host;
  const base = cfg.http_external_url ?? (host && HOST_RE.test(host) ? `${secure ? "https" : "http"}://${host.toLowerCase()}` : "");
  const body = (): Promise<Buffer> => (bodyPromise ??= readBody(raw, cfg.http_max_body, deadline.signal));
  return {
    raw,
    res,
    method,
    ip,
    secure,
    base,
    url: undefined as unknown as URL,
    header: (name: string) => {
      const v = raw.headers[name.toLowerCase()];
      return Array.isArray(v) ? v.join(", ") : v;
    },
    body,
    signal: deadline.signal,
    expectBody: (bytes: number) => deadline.expect(bytes),
    form: async (): Promise<URLSearchParams> => {
      if (mediaType(raw) !== "application/x-www-form-urlencoded") throw new HttpError(httpErrors.formRequired);
      let text: string;
      try {
        text = utf8.decode(await body());
      } catch (err) {
        if (err instanceof HttpError) throw err;
        throw new HttpError(httpErrors.bodyNotUtf8);
      }
      return new URLSearchParams(text);
    },
    json: async (): Promise<unknown> => {
      if (mediaType(raw) !== "application/json") throw new HttpError(httpErrors.jsonRequired);
      const buf = await body();
      try {
        return JSON.parse(buf.toString("utf8")) as unknown;
      } catch {
        throw new HttpError(httpErrors.bodyNotJson);
      }
    },
  };
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function mediaType(raw: http.IncomingMessage): string {
  return (raw.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
}

function readBody(raw: http.IncomingMessage, limit: number, signal: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    if (signal.aborted) return reject(lateError(signal));
    signal.addEventListener("abort", () => {
      raw.removeAllListeners("data");
      reject(lateError(signal));
    });
    raw.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        raw.removeAllListeners("data");
        raw.resume();
        reject(new HttpError(httpErrors.bodyTooLarge));
        return;
      }
      chunks.push(c);
    });
    raw.on("end", () => resolve(Buffer.concat(chunks)));
    raw.on("error", () => reject(new HttpError(httpErrors.bodyCutShort)));
  });
}
