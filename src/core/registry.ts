// Every bound session of every account: routing uses it to deliver, client management and
// revocation to find sessions. An interface, as ejabberd's session manager has backends: this
// process's memory today (LocalSessionRegistry); a cluster's registry (Redis) implements the
// same, chosen in the composition root (src/app/compose.ts).
import type { Session } from "./session.js";

export interface SessionRegistry {
  readonly size: number;
  /** Adds a bound session; returns the session it displaced (same resource), if any. */
  add(session: Session): Session | undefined;
  remove(session: Session): void;
  get(username: string, resource: string): Session | undefined;
  /** All bound sessions of an account (empty when none). */
  sessionsOf(username: string): Session[];
  all(): IterableIterator<Session>;
}

/** The registry of one process: a map per account, resource → session. */
export class LocalSessionRegistry implements SessionRegistry {
  private readonly byUser = new Map<string, Map<string, Session>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Adds a bound session; returns the session it displaced (same resource), if any. */
  add(session: Session): Session | undefined {
    const user = session.username!;
    const resource = session.resource!;
    let m = this.byUser.get(user);
    if (!m) {
      m = new Map();
      this.byUser.set(user, m);
    }
    const old = m.get(resource);
    m.set(resource, session);
    if (!old) this.count++;
    return old;
  }

  remove(session: Session): void {
    const m = this.byUser.get(session.username!);
    if (!m || m.get(session.resource!) !== session) return;
    m.delete(session.resource!);
    this.count--;
    if (m.size === 0) this.byUser.delete(session.username!);
  }

  get(username: string, resource: string): Session | undefined {
    return this.byUser.get(username)?.get(resource);
  }

  /** All bound sessions of an account (empty when none). */
  sessionsOf(username: string): Session[] {
    const m = this.byUser.get(username);
    return m ? [...m.values()] : [];
  }

  *all(): IterableIterator<Session> {
    for (const m of this.byUser.values()) yield* m.values();
  }
}
