// Per-IP request limits for the endpoints that take passwords or issue tokens (oauth2_rate_limit
// a minute): past the limit, 429 with Retry-After, before anything is looked at. The counts are
// the shared request counts (src/state/rate-limits.ts) that the composition root provides.
import { HttpError, httpErrors } from "../core/errors.js";
import type { RateLimits } from "../state/rate-limits.js";

/** Limits of an endpoint group: an IP address and a group name make the key. */
export class RateLimiter {
  constructor(
    private readonly counts: RateLimits,
    private readonly perMinute: () => number,
  ) {}

  /** Counts a request; throws 429 (with Retry-After) past the limit. */
  take(key: string, now = Date.now()): void {
    const retry = this.counts.hit(key, this.perMinute(), now);
    if (retry !== undefined) throw new HttpError(httpErrors.tooManyRequests(retry));
  }
}
