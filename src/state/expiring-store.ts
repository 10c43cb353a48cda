// Short-lived records that carry their own expiry (`exp`, ms): OAuth authorization codes,
// device authorizations, spent consent tickets (src/http/oauth/state.ts names them). The
// interface is what a shared key-value store gives (Redis: SET with PX, SET NX, GETDEL, a
// WATCH/MULTI transaction for update), so it is asynchronous; LocalExpiringStores keeps them
// in this process's memory, as before. The composition root (src/app/compose.ts) picks one.
//
// An entry lives at least until its `exp` and may still be returned after it, until swept:
// callers check `exp` themselves, since an expired code is answered differently from an
// unknown one. A shared implementation keeps entries a little past `exp` for the same reason.

declare module "../core/services.js" {
  interface Services {
    expiringStores: ExpiringStores;
  }
}

export interface Expiring {
  exp: number;
}

export interface ExpiringStore<V extends Expiring> {
  set(key: string, value: V): Promise<void>;
  /** Sets the entry unless there is one; false when there was (what makes a one-time mark). */
  add(key: string, value: V): Promise<boolean>;
  /** The entry, also when expired (see above). */
  get(key: string): Promise<V | undefined>;
  /** Removes and returns the entry in one step: what makes a code single-use. */
  take(key: string): Promise<V | undefined>;
  /**
   * Changes an entry in one step, so that two requests changing it at once lose nothing:
   * `change` gets the entry (not called when there is none) and returns it changed.
   */
  update(key: string, change: (value: V) => V): Promise<V | undefined>;
  delete(key: string): Promise<void>;
}

/** Where the stores come from: one per name (a shared implementation: a key prefix). */
export interface ExpiringStores {
  /** The store of this name; `max` bounds it where memory is the limit (the oldest go first). */
  open<V extends Expiring>(name: string, max?: number): ExpiringStore<V>;
}

/**
 * A bounded Map whose entries carry their own expiry; the oldest go first when it is full. Each
 * operation runs whole before it returns its promise, so each is one step, as the interface asks.
 */
export class ExpiringMap<V extends Expiring> implements ExpiringStore<V> {
  private readonly map = new Map<string, V>();

  constructor(private readonly max = 10_000) {}

  private put(key: string, value: V): void {
    if (this.map.size >= this.max) this.sweep();
    while (this.map.size >= this.max) this.map.delete(this.map.keys().next().value!);
    this.map.set(key, value);
  }

  async set(key: string, value: V): Promise<void> {
    this.put(key, value);
  }

  async add(key: string, value: V): Promise<boolean> {
    if (this.map.has(key)) return false;
    this.put(key, value);
    return true;
  }

  async get(key: string): Promise<V | undefined> {
    return this.map.get(key);
  }

  async take(key: string): Promise<V | undefined> {
    const v = this.map.get(key);
    this.map.delete(key);
    return v;
  }

  async update(key: string, change: (value: V) => V): Promise<V | undefined> {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    const next = change(v);
    this.map.set(key, next);
    return next;
  }

  async delete(key: string): Promise<void> {
    this.map.delete(key);
  }

  sweep(now = Date.now()): void {
    for (const [k, v] of this.map) if (v.exp <= now) this.map.delete(k);
  }

  get size(): number {
    return this.map.size;
  }
}

/** The stores of one process: Maps, swept of expired entries every minute. */
export class LocalExpiringStores implements ExpiringStores {
  private readonly stores = new Map<string, ExpiringMap<Expiring>>();
  private readonly sweeper: NodeJS.Timeout;

  constructor() {
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const m of this.stores.values()) m.sweep(now);
    }, 60_000);
    this.sweeper.unref();
  }

  open<V extends Expiring>(name: string, max?: number): ExpiringStore<V> {
    if (this.stores.has(name)) throw new Error(`the store '${name}' is opened twice`);
    const m = new ExpiringMap<V>(max);
    this.stores.set(name, m);
    return m;
  }

  stop(): void {
    clearInterval(this.sweeper);
    this.stores.clear();
  }
}
