// The hook/event bus every feature plugs into, after Prosody's module events: handlers run in
// descending priority; for a hook (fire) the first to return something other than undefined
// ends the event and its value is the event's answer. Handlers may be async. Names, payloads
// and answers are checked against the one map of events (src/core/events.ts, src/events.ts).
import { Priority, type AnswerOf, type EventName, type PayloadOf, type PriorityName } from "./events.js";

type Maybe<T> = T | undefined | void;
export type Handler<K extends EventName> = (event: PayloadOf<K>) => Maybe<AnswerOf<K>> | Promise<Maybe<AnswerOf<K>>>;

interface Entry {
  handler: (event: never) => unknown;
  priority: number;
}

export class Bus {
  private readonly handlers = new Map<string, Entry[]>();

  /** Registers a handler at a named place in the chain; returns a function that removes it. */
  on<K extends EventName>(name: K, handler: Handler<K>, priority: PriorityName = "normal"): () => void {
    const list = this.handlers.get(name) ?? [];
    const entry: Entry = { handler, priority: Priority[priority] };
    list.push(entry);
    list.sort((a, b) => b.priority - a.priority);
    this.handlers.set(name, list);
    return () => {
      const l = this.handlers.get(name);
      const i = l ? l.indexOf(entry) : -1;
      if (i >= 0) l!.splice(i, 1);
    };
  }

  has(name: EventName): boolean {
    const l = this.handlers.get(name);
    return !!l && l.length > 0;
  }

  /** Runs the handlers; resolves to the first answer, or undefined when none answered. */
  async fire<K extends EventName>(name: K, event: PayloadOf<K>): Promise<AnswerOf<K> | undefined> {
    const list = this.handlers.get(name);
    if (!list) return undefined;
    for (const { handler } of list.slice()) {
      let r = (handler as Handler<K>)(event);
      if (r instanceof Promise) r = await r;
      if (r !== undefined) return r;
    }
    return undefined;
  }

  /** Like fire, but every handler runs (for notices) and one failing handler does not stop the others. */
  async emit<K extends EventName>(name: K, event: PayloadOf<K>, onError?: (err: unknown) => void): Promise<void> {
    const list = this.handlers.get(name);
    if (!list) return;
    for (const { handler } of list.slice()) {
      try {
        const r = (handler as Handler<K>)(event);
        if (r instanceof Promise) await r;
      } catch (err) {
        onError?.(err);
      }
    }
  }
}
