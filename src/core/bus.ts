// The hook/event bus every feature plugs into, after Prosody's module events: handlers run in
// descending priority; the first to return something other than undefined ends the event and
// its value is the event's result ("handled"). Handlers may be async.

export type Handler<E = any> = (event: E) => unknown;

interface Entry { handler: Handler; priority: number }

export class Bus {
  private readonly handlers = new Map<string, Entry[]>();

  /** Registers a handler; returns a function that removes it. */
  on<E = any>(name: string, handler: Handler<E>, priority = 0): () => void {
    const list = this.handlers.get(name) ?? [];
    list.push({ handler, priority });
    list.sort((a, b) => b.priority - a.priority);
    this.handlers.set(name, list);
    return () => {
      const l = this.handlers.get(name);
      if (!l) return;
      const i = l.findIndex((e) => e.handler === handler);
      if (i >= 0) l.splice(i, 1);
    };
  }

  has(name: string): boolean {
    const l = this.handlers.get(name);
    return !!l && l.length > 0;
  }

  /** Runs the handlers; resolves to the first non-undefined result, or undefined when none handled it. */
  async fire<E = any>(name: string, event: E): Promise<unknown> {
    const list = this.handlers.get(name);
    if (!list) return undefined;
    for (const { handler } of list.slice()) {
      let r = handler(event);
      if (r instanceof Promise) r = await r;
      if (r !== undefined) return r;
    }
    return undefined;
  }

  /** Like fire, but every handler runs (for notifications) and one failing handler does not stop the others. */
  async emit<E = any>(name: string, event: E, onError?: (err: unknown) => void): Promise<void> {
    const list = this.handlers.get(name);
    if (!list) return;
    for (const { handler } of list.slice()) {
      try {
        const r = handler(event);
        if (r instanceof Promise) await r;
      } catch (err) {
        onError?.(err);
      }
    }
  }
}
