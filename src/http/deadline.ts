// How long a request may take to arrive, kept per request by the HTTP service instead of by
// Node's requestTimeout, which is one setting for the whole server (nodejs/node#46574), so a
// slow phone could not finish an upload that the other routes must not allow.
// - Every request: its headers and body within http_request_timeout, counted from before its
//   first byte could have come (the connection's start, or the end of the response before it
//   on a kept-alive connection), so never later than Node's own deadline would be. As with
//   Node's, it ends when the body has all arrived: a slow handler is not cut.
// - Routes that read their own body (file upload): no byte for http_body_idle_timeout ends the
//   request, and the whole of it must come within http_request_timeout plus the size it
//   announces (expect()) at http_body_min_rate, so one connection cannot hold a slot forever.
// When a deadline passes, the body readers see `signal` aborted with the error (408) and stop;
// the route answers it; a route that never reads its body is answered for, and the connection
// is closed in any case (Connection: close, then destroyed if it lingers).
import type http from "node:http";
import type net from "node:net";
import type { Config } from "../core/config.js";
import { HttpError, httpErrors, type HttpCodedErrorDef } from "../core/errors.js";

type Limits = Pick<Config, "http_request_timeout" | "http_body_idle_timeout" | "http_body_min_rate">;

/** Per connection: when it was last idle, and the requests on it not yet answered. */
interface ConnectionState {
  idleSince: number;
  busy: number;
  lastStart: number;
}

/** After a deadline: how long the route has to answer, and then how long the answer has to leave. */
const GRACE_MS = 1000;
const MAX_TIMER_MS = 2 ** 31 - 1;

const connections = new WeakMap<net.Socket, ConnectionState>();

/** Why a request's signal was aborted: the late body's HttpError. */
export function lateError(signal: AbortSignal): HttpError {
  const reason: unknown = signal.reason;
  return reason instanceof HttpError ? reason : new HttpError(httpErrors.requestTooSlow);
}

/** A connection reached the HTTP server (after the TLS handshake, on a TLS listener). */
export function connectionStarted(socket: net.Socket): void {
  const now = Date.now();
  connections.set(socket, { idleSince: now, busy: 0, lastStart: now });
}

export class RequestDeadline {
  private readonly controller = new AbortController();
  /** Aborted, with the HttpError as reason, when the request's body is late. */
  readonly signal = this.controller.signal;
  private readonly t0: number;
  private timer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly raw: http.IncomingMessage,
    private readonly res: http.ServerResponse,
    private readonly limits: Limits,
    private readonly answer: (err: HttpError) => void,
  ) {
    const socket = raw.socket;
    const now = Date.now();
    const conn = connections.get(socket) ?? { idleSince: now, busy: 0, lastStart: now };
    connections.set(socket, conn);
    // A pipelined request began after the one before it had all its headers.
    this.t0 = conn.busy > 0 ? conn.lastStart : conn.idleSince;
    conn.busy++;
    conn.lastStart = now;
    res.once("close", () => {
      conn.busy--;
      if (conn.busy === 0) conn.idleSince = Date.now();
      if (raw.complete) this.stop();
    });
    raw.once("close", () => this.stop());
    this.arm(limits.http_request_timeout * 1000, httpErrors.requestTooSlow);
  }

  /** The route reads its own body: an idle deadline instead of the whole-request one for the body. */
  ownBody(): void {
    const idleMs = this.limits.http_body_idle_timeout * 1000;
    const socket = this.raw.socket;
    let seen = socket.bytesRead;
    let lastByte = Date.now();
    // Polled, not a 'data' listener: that would start the body flowing before the route reads it.
    const check = () => {
      if (this.raw.complete) return clearInterval(this.idleTimer);
      if (socket.bytesRead !== seen) {
        seen = socket.bytesRead;
        lastByte = Date.now();
      } else if (Date.now() - lastByte >= idleMs) {
        this.expire(new HttpError(httpErrors.bodyIdle(this.limits.http_body_idle_timeout)));
      }
    };
    this.idleTimer = setInterval(check, Math.min(1000, Math.ceil(idleMs / 4)));
    this.idleTimer.unref();
  }

  /** The body is `bytes` long: it may take that long at the minimum rate, on top of the request timeout. */
  expect(bytes: number): void {
    const ms = (this.limits.http_request_timeout + bytes / this.limits.http_body_min_rate) * 1000;
    this.arm(ms, httpErrors.bodyTooSlow(this.limits.http_body_min_rate));
  }

  private arm(ms: number, def: HttpCodedErrorDef): void {
    clearTimeout(this.timer);
    const at = this.t0 + ms;
    // Always a timer, even when the time is up: a request without a body is complete only once
    // Node's parser returns. setTimeout takes at most 2^31-1 ms (a huge file at a low rate is
    // more): then it waits in steps.
    const wait = (first: boolean) => {
      const left = at - Date.now();
      if (left <= 0 && !first) return this.expire(new HttpError(def));
      this.timer = setTimeout(() => wait(false), Math.min(Math.max(0, left), MAX_TIMER_MS));
      this.timer.unref();
    };
    wait(true);
  }

  private stop(): void {
    clearTimeout(this.timer);
    clearInterval(this.idleTimer);
  }

  private expire(err: HttpError): void {
    this.stop();
    const socket = this.raw.socket;
    if (this.raw.complete || socket.destroyed) return;
    this.controller.abort(err);
    if (this.res.headersSent) {
      // Answered already, the body still coming: nothing more can be said.
      socket.destroy();
      return;
    }
    this.res.setHeader("Connection", "close");
    setTimeout(() => {
      if (!this.res.headersSent) this.answer(err);
      setTimeout(() => socket.destroy(), GRACE_MS).unref();
    }, GRACE_MS).unref();
  }
}
