// Failed-login accounting per IP and per account: each failure is answered late (growing
// delay), and past the limit in the window further attempts are refused without checking
// credentials, so guessing passwords is slow whichever way it is spread.
//
// The limit is decided before a credential is looked at, never after: a check that succeeds
// and is then refused because the account is over its limit tells the guesser it was right
// (the "password oracle after lockout"). And since checking a password is asynchronous
// (PBKDF2 on the thread pool), an attempt is reserved synchronously when it is admitted and
// counted as a possible failure until it is settled: a burst of parallel guesses gets exactly
// the limit checked, not the limit plus however many were in flight.
//
// What features use is the LoginThrottle interface; LocalLoginThrottle below is this process's
// memory, which the composition root (src/app/compose.ts) picks today. admit() is asynchronous,
// so a shared implementation (Redis) can check and reserve in one atomic step (a script) and the
// guarantee above holds across nodes. blocked() and fail() stay synchronous: the SASL
// mechanisms ask "throttled?" in the middle of a synchronous step (src/auth/mechanism.ts) and
// the OAuth token endpoint counts a bad client secret on its way out. A shared implementation
// answers them from a node-local copy of the counts, refreshed from the shared store, and sends
// the failures it records there in the background: the limits then hold across the cluster up
// to that copy's lag, while admit(), the gate that matters, is exact.

declare module "../core/services.js" {
  interface Services {
    loginThrottle: LoginThrottle;
  }
}

interface Bucket {
  failures: number[];
  pending: number;
}

/** An admitted attempt: settle it once the credentials were checked (or not). */
export interface LoginAttempt {
  /** The normalised username it was admitted for (undefined: counted against the IP only). */
  readonly username: string | undefined;
  /** The credentials were wrong: records the failure; returns how long to wait before answering. */
  failed(now?: number): number;
  /** Nothing to count (success, or the check did not happen): frees the reservation. */
  release(): void;
}

/** Failed-login accounting, as every way in uses it (XMPP SASL, the account page, OAuth forms). */
export interface LoginThrottle {
  /** True when this IP or account has used up its failures for the window. */
  blocked(ip: string, username: string | undefined, now?: number): boolean;
  /**
   * Admits one credential check, before it starts: undefined when the IP or the account is
   * over its limit (refuse without looking at the credentials). Otherwise a reservation that
   * counts as a failure until settled; while the limit is full of failures and reservations,
   * it waits for one of them to settle (legitimate parallel logins are delayed, never refused).
   */
  admit(ip: string, username: string | undefined): Promise<LoginAttempt | undefined>;
  /** Records a failure that was not admitted first (e.g. a bad OAuth client secret); returns the delay. */
  fail(ip: string, username: string | undefined, now?: number): number;
}

/** The login throttle of one process: failure times and reservations per key, in a Map. */
export class LocalLoginThrottle implements LoginThrottle {
  private readonly buckets = new Map<string, Bucket>();
  private readonly sweeper: NodeJS.Timeout;
  private waiters: Array<() => void> = [];

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly baseDelayMs = 150,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(windowMs, 60_000));
    this.sweeper.unref();
  }

  private recent(key: string, now: number): number[] {
    const b = this.buckets.get(key);
    if (!b) return [];
    b.failures = b.failures.filter((t) => now - t < this.windowMs);
    return b.failures;
  }

  private keys(ip: string, username: string | undefined): Array<[string, number]> {
    // An IP may hold several users (NAT, a shared host): it gets four times an account's limit.
    const keys: Array<[string, number]> = [[`ip:${ip}`, this.limit * 4]];
    if (username !== undefined) keys.push([`user:${username}`, this.limit]);
    return keys;
  }

  /** True when this IP or account has used up its failures for the window. */
  blocked(ip: string, username: string | undefined, now = Date.now()): boolean {
    return this.keys(ip, username).some(([k, max]) => this.recent(k, now).length >= max);
  }

  /**
   * Admits one credential check, before it starts: undefined when the IP or the account is
   * over its limit (refuse without looking at the credentials). Otherwise reserves a place
   * that counts as a failure until settled; while failures and reservations together fill the
   * limit, it waits for one of them to settle, so legitimate parallel logins are delayed,
   * never refused, and no more than the limit of checks can fail.
   */
  async admit(ip: string, username: string | undefined): Promise<LoginAttempt | undefined> {
    for (;;) {
      const now = Date.now();
      if (this.blocked(ip, username, now)) return undefined;
      const keys = this.keys(ip, username);
      if (keys.every(([k, max]) => this.recent(k, now).length + (this.buckets.get(k)?.pending ?? 0) < max))
        return this.reserve(
          keys.map(([k]) => k),
          username,
        );
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private reserve(keys: string[], username: string | undefined): LoginAttempt {
    for (const k of keys) {
      const b = this.buckets.get(k) ?? { failures: [], pending: 0 };
      b.pending++;
      this.buckets.set(k, b);
    }
    let settled = false;
    const settle = (record: number | undefined): number => {
      if (settled) return 0;
      settled = true;
      let worst = 0;
      for (const k of keys) {
        const b = this.buckets.get(k) ?? { failures: [], pending: 1 };
        b.pending--;
        if (record !== undefined) b.failures.push(record);
        this.buckets.set(k, b);
        worst = Math.max(worst, this.recent(k, record ?? Date.now()).length);
      }
      this.wake();
      return record === undefined ? 0 : this.delayFor(worst);
    };
    return { username, failed: (now = Date.now()) => settle(now), release: () => void settle(undefined) };
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private delayFor(count: number): number {
    return Math.min(this.baseDelayMs * count, 5000);
  }

  /** Records a failure that was not admitted first (e.g. a bad OAuth client secret); returns the delay. */
  fail(ip: string, username: string | undefined, now = Date.now()): number {
    let worst = 0;
    for (const [k] of this.keys(ip, username)) {
      const b = this.buckets.get(k) ?? { failures: [], pending: 0 };
      b.failures.push(now);
      this.buckets.set(k, b);
      worst = Math.max(worst, this.recent(k, now).length);
    }
    return this.delayFor(worst);
  }

  private sweep(): void {
    const now = Date.now();
    for (const [k, b] of this.buckets) {
      b.failures = b.failures.filter((t) => now - t < this.windowMs);
      if (b.failures.length === 0 && b.pending === 0) this.buckets.delete(k);
    }
  }

  stop(): void {
    clearInterval(this.sweeper);
  }
}
