// Where a resumption (XEP-0198 §5) finds its session: the resumable sessions by resumption
// id, which of them hibernate and until when, and what is remembered of those that ended (a
// late <resume/> gets <failed h/>). An interface chosen in the composition root
// (src/app/compose.ts), as the session registry is: this process's memory today.
//
// The live session (its queue, its connection) can only be in the memory of the node it runs
// on: this store maps the resumption id to it on this node. A cluster's store (Redis,
// PostgreSQL) maps the id to the node that holds the session, with the hibernation's expiry
// as the key's lifetime, and keeps the final 'h' of ended sessions for every node to answer;
// its own node's sessions it keeps in memory as this one does. Bringing a resumption that
// reaches another node to the session's node is the cluster's routing, not the store's.
//
// Writes are synchronous (void): stream management makes them where it must act within one
// turn (a dropped connection asks at once whether the session hibernates; a closed session's
// queue is re-routed before anything awaits; <enabled/> starts the count), so a network
// store writes behind. The lookup a resumption makes is asynchronous: the resuming stream
// waits for it, and the checks that follow run in the same turn as the take-over.
import type { Session } from "../../core/session.js";

declare module "../../core/services.js" {
  interface Services {
    hibernation: HibernationStore;
  }
}

/** A resumable session that ended: its account, and the last 'h' it counted. */
export interface EndedSession {
  username: string;
  h: number;
}

/** What a resumption id names: a session that lives (connected or hibernating), or one that ended. */
export interface Resumable {
  session?: Session;
  ended?: EndedSession;
}

export interface HibernationStore {
  /** <enable resume/>: the session can be resumed under `id` until it ends. */
  add(id: string, session: Session): void;
  /** Whether `session` is (still) the one resumable under `id`; answered from this node's memory. */
  holds(id: string, session: Session): boolean;
  /** What a <resume previd/> finds under `id`. */
  lookup(id: string): Promise<Resumable>;
  /** The connection dropped: the session hibernates, and `expire` runs when `ttlMs` pass first. */
  hibernate(id: string, ttlMs: number, expire: () => void): void;
  /** It was resumed: it hibernates no more, and stays resumable under the same id. */
  wake(id: string): void;
  /** This node's hibernating sessions, oldest first (revocation ends them: they have no connection to close). */
  hibernating(): Session[];
  /** The session ended: `id` resumes nothing any more, and a late resumption learns its final 'h'. */
  end(id: string, session: Session, ended: EndedSession): void;
  /** The server stops: no expiry runs any more. */
  stop(): void;
}

/** Ended resumable sessions remembered (their final 'h'), so that a late <resume/> gets <failed h/>. */
const ENDED_KEPT = 1_000;

/** The store of one process: maps, and a timer per hibernating session. */
export class LocalHibernationStore implements HibernationStore {
  private readonly live = new Map<string, Session>();
  private readonly sleeping = new Map<string, { session: Session; timer: NodeJS.Timeout }>();
  private readonly ended = new Map<string, EndedSession>();

  add(id: string, session: Session): void {
    this.live.set(id, session);
  }

  holds(id: string, session: Session): boolean {
    return this.live.get(id) === session;
  }

  lookup(id: string): Promise<Resumable> {
    return Promise.resolve({ session: this.live.get(id), ended: this.ended.get(id) });
  }

  hibernate(id: string, ttlMs: number, expire: () => void): void {
    const session = this.live.get(id);
    if (!session) return;
    const before = this.sleeping.get(id);
    if (before) clearTimeout(before.timer);
    const timer = setTimeout(expire, ttlMs);
    timer.unref();
    this.sleeping.set(id, { session, timer });
  }

  wake(id: string): void {
    const z = this.sleeping.get(id);
    if (!z) return;
    clearTimeout(z.timer);
    this.sleeping.delete(id);
  }

  hibernating(): Session[] {
    return [...this.sleeping.values()].map((z) => z.session);
  }

  end(id: string, session: Session, ended: EndedSession): void {
    if (this.sleeping.get(id)?.session === session) this.wake(id);
    if (this.live.get(id) !== session) return;
    this.live.delete(id);
    this.ended.set(id, ended);
    if (this.ended.size > ENDED_KEPT) {
      for (const oldest of this.ended.keys()) {
        this.ended.delete(oldest);
        break;
      }
    }
  }

  stop(): void {
    for (const z of this.sleeping.values()) clearTimeout(z.timer);
  }
}
