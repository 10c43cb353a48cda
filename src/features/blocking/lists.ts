// The accounts' blocklists (XEP-0191) as a service: stored through storage.blocklist, and held
// in memory for every account with a session, because presence is filtered on its way out to
// a session (a synchronous filter, enforce.ts) and must know at once who blocks whom. The
// cache is this process's: a cluster needs it invalidated across nodes (a change published
// to the other nodes, as the account page's live updates are).
import type { JID } from "../../core/jid.js";
import type { Server } from "../../core/server.js";

export interface Blocklists {
  /** The account's blocklist: from memory when it is online, else from storage. */
  get(username: string): Promise<ReadonlySet<string>>;
  /** The list held in memory, when the account is online. */
  cached(username: string): ReadonlySet<string> | undefined;
  /** Holds the account's list in memory (a session of it was bound). */
  load(username: string): Promise<void>;
  /** Drops it from memory (its last session ended). */
  forget(username: string): void;
  /** Adds normalised JIDs; the ones new to the list, or undefined when the list would be too long. */
  add(username: string, jids: string[]): Promise<string[] | undefined>;
  /** Removes the given JIDs, or all; the ones removed. */
  remove(username: string, jids?: string[]): Promise<string[]>;
}

declare module "../../core/services.js" {
  interface Services {
    blocklists: Blocklists;
  }
}

/**
 * Whether a blocklist covers a JID, in the order of XEP-0191 §4: the full JID, the bare JID,
 * domain/resource, then the domain, which also covers its subdomains.
 */
export function blocks(list: ReadonlySet<string>, jid: JID): boolean {
  if (list.size === 0) return false;
  // The full JID, domain/resource included: that names a service's resource, not the
  // resource of every account at the domain.
  if (list.has(jid.toString()) || list.has(jid.bareString)) return true;
  const labels = jid.domain.split(".");
  for (let i = 0; i < labels.length; i++) if (list.has(labels.slice(i).join("."))) return true;
  return false;
}

export function blocklists(server: Server): Blocklists {
  const cache = new Map<string, Set<string>>();
  const read = async (username: string) => new Set(await server.storage.blocklist.list(username));
  return {
    get: async (username) => cache.get(username) ?? (await read(username)),
    cached: (username) => cache.get(username),
    async load(username) {
      if (!cache.has(username)) cache.set(username, await read(username));
    },
    forget: (username) => cache.delete(username),
    async add(username, jids) {
      const fresh = await server.storage.blocklist.add(username, jids, server.config.blocklist_max_items);
      const held = cache.get(username);
      if (fresh && held) for (const j of fresh) held.add(j);
      return fresh;
    },
    async remove(username, jids) {
      const removed = await server.storage.blocklist.remove(username, jids);
      const held = cache.get(username);
      if (held) for (const j of removed) held.delete(j);
      return removed;
    },
  };
}
