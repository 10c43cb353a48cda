// Request counts per key in fixed one-minute windows: what the HTTP endpoints that take
// passwords or issue tokens are limited by (src/http/server.ts RateLimiter turns "over" into a
// 429). src/state/ holds what every node of a cluster would have to see the same, each file an
// interface that features use and this process's implementation of it; the composition root
// (src/app/compose.ts) picks the implementation, so a cluster backend replaces it there.
//
// hit() is synchronous: the endpoints count a request as their first, plain step. A shared
// implementation (Redis: INCR and PEXPIRE on the window's key) counts locally, adds those counts
// to the shared window in the background and answers from the cluster's total as last read:
// the limit holds across nodes up to that lag, which a limit of requests a minute can afford.

declare module "../core/services.js" {
  interface Services {
    rateLimits: RateLimits;
  }
}

export const WINDOW_MS = 60_000;

export interface RateLimits {
  /**
   * Counts one request under `key` in its current window: undefined while the window holds at
   * most `perMinute` requests, else the seconds until the window ends (for Retry-After).
   */
  hit(key: string, perMinute: number, now?: number): number | undefined;
}

/** The windows of one process, in a Map swept every minute. */
export class LocalRateLimits implements RateLimits {
  private readonly windows = new Map<string, { start: number; count: number }>();
  private readonly sweeper: NodeJS.Timeout;

  constructor() {
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const [k, w] of this.windows) if (now - w.start >= WINDOW_MS) this.windows.delete(k);
    }, WINDOW_MS);
    this.sweeper.unref();
  }

  hit(key: string, perMinute: number, now = Date.now()): number | undefined {
    let w = this.windows.get(key);
    if (!w || now - w.start >= WINDOW_MS) {
      w = { start: now, count: 0 };
      this.windows.set(key, w);
    }
    if (++w.count <= perMinute) return undefined;
    return Math.max(1, Math.ceil((w.start + WINDOW_MS - now) / 1000));
  }

  stop(): void {
    clearInterval(this.sweeper);
  }
}
