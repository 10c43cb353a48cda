// Per-IP request limits for the endpoints that take passwords or issue tokens (oauth2_rate_limit
// a minute): past the limit, 429 with Retry-After, before anything is looked at.
import { HttpError, httpErrors } from "../core/errors.js";

/** Fixed one-minute windows per key (an IP address and an endpoint group). */
export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly perMinute: () => number) {
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const [k, w] of this.windows) if (now - w.start >= 60_000) this.windows.delete(k);
    }, 60_000);
    this.sweeper.unref();
  }

  /** Counts a request; throws 429 (with Retry-After) past the limit. */
  take(key: string, now = Date.now()): void {
    let w = this.windows.get(key);
    if (!w || now - w.start >= 60_000) { w = { start: now, count: 0 }; this.windows.set(key, w); }
    if (++w.count > this.perMinute()) {
      const retry = Math.max(1, Math.ceil((w.start + 60_000 - now) / 1000));
      throw new HttpError(httpErrors.tooManyRequests(retry));
    }
  }

  stop(): void { clearInterval(this.sweeper); }
}
