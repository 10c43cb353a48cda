// The accounts' blocklists (XEP-0191) as a service: stored through storage.blocklist, and held
// in memory for every account that had a session since the server started and for every
// account that blocks one of those, because presence and messages are filtered on their way
// out to a session (a synchronous filter, enforce.ts) and must know at once who blocks whom:
// whoever blocks an online account is in memory. A list lives in memory until the account is
// deleted; it is at most blocklist_max_items JIDs. The memory is this process's: a cluster
// needs changes published to the other nodes (as the account page's live updates are).
import type { JID } from "../../core/jid.js";
import type { Server } from "../../core/server.js";

export interface Blocklists {
  /** The account's blocklist: from memory when it is online, else from storage. */
  get(username: string): Promise<ReadonlySet<string>>;
  /** The list held in memory, when the account is online. */
  cached(username: string): ReadonlySet<string> | undefined;
  /**
   * Holds in memory the list of the account of a session just bound, and the lists of every
   * account that blocks it (by its full, bare or domain JID).
   */
  load(jid: JID): Promise<void>;
  /** Drops an account's list from memory (the account was deleted). */
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
    async load(jid) {
      const labels = jid.domain.split(".");
      const names = [jid.toString(), jid.bareString, ...labels.map((_, i) => labels.slice(i).join("."))];
      for (const username of [jid.local!, ...(await server.storage.blocklist.blockers(names))]) {
        if (!cache.has(username)) cache.set(username, await read(username));
      }
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
