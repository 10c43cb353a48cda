// Failed-login accounting per IP and per account: each failure is answered late (growing
// delay), and past the limit in the window further attempts are refused without checking
// credentials, so guessing passwords is slow whichever way it is spread.

interface Bucket { failures: number[] }

export class LoginThrottle {
  private readonly buckets = new Map<string, Bucket>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly limit: number, private readonly windowMs: number, private readonly baseDelayMs = 150) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(windowMs, 60_000));
    this.sweeper.unref();
  }

  private recent(key: string, now: number): number[] {
    const b = this.buckets.get(key);
    if (!b) return [];
    b.failures = b.failures.filter((t) => now - t < this.windowMs);
    return b.failures;
  }

  /** True when this IP or account has used up its failures for the window. */
  blocked(ip: string, username: string | undefined, now = Date.now()): boolean {
    if (this.recent(`ip:${ip}`, now).length >= this.limit * 4) return true; // an IP may hold several users
    return username !== undefined && this.recent(`user:${username}`, now).length >= this.limit;
  }

  /** Records a failure; returns how long to wait before answering it. */
  fail(ip: string, username: string | undefined, now = Date.now()): number {
    const keys = [`ip:${ip}`];
    if (username !== undefined) keys.push(`user:${username}`);
    let worst = 0;
    for (const k of keys) {
      const b = this.buckets.get(k) ?? { failures: [] };
      b.failures.push(now);
      this.buckets.set(k, b);
      worst = Math.max(worst, this.recent(k, now).length);
    }
    return Math.min(this.baseDelayMs * worst, 5000);
  }

  private sweep(): void {
    const now = Date.now();
    for (const [k, b] of this.buckets) {
      b.failures = b.failures.filter((t) => now - t < this.windowMs);
      if (b.failures.length === 0) this.buckets.delete(k);
    }
  }

  stop(): void { clearInterval(this.sweeper); }
}
