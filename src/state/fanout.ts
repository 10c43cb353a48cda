// Publish / subscribe between the nodes of a cluster: what one node publishes, every node's
// subscribers hear (its own too). The account page's live updates use it ("account X changed",
// "this sign-in ended": src/http/account/live.ts), since the open page of a user may be held
// by another node than the one where the change happened. LocalFanout is one process: a
// publication reaches the subscribers at once, synchronously, as a direct call would. A
// cluster's implementation (Redis PUBLISH / SUBSCRIBE, PostgreSQL NOTIFY / LISTEN) is chosen
// instead in the composition root (src/app/compose.ts); messages must then be plain JSON.
//
// publish() returns nothing: a publication is sent, not awaited (a shared implementation logs
// what it could not send), and nobody waits for the subscribers.

export interface Fanout<T> {
  publish(message: T): void;
  /** Hears every message published from now on; returns the unsubscribe. */
  subscribe(listener: (message: T) => void): () => void;
}

/** The fan-out of one process: the subscribers in a Set, called in order of subscription. */
export class LocalFanout<T> implements Fanout<T> {
  private readonly listeners = new Set<(message: T) => void>();

  publish(message: T): void {
    for (const l of [...this.listeners]) l(message);
  }

  subscribe(listener: (message: T) => void): () => void {
    const own = (message: T) => listener(message);
    this.listeners.add(own);
    return () => {
      this.listeners.delete(own);
    };
  }
}
