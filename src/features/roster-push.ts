// Shared roster plumbing for the roster and presence features: the one place a roster item
// changes (read-modify-write under a per-account lock), roster pushes to interested
// resources (RFC 6121 §2.1.6) and the serialisation of items.
//
// Pending inbound subscription requests (RFC 6121 §3.1.3) live on the roster item as
// `pendingIn`. A request from someone who is not in the roster must not add a visible item,
// so it is stored as a *hidden* item: subscription "none", no ask, no name, no groups and
// pendingIn set. Hidden items are left out of roster gets and pushes. To keep an item the
// user did add from becoming hidden when it gains pendingIn, such an item is stored with an
// empty name (`name: ""`, which is never serialised); see `isHidden` and `updateItem`.
import { randomBytes } from "node:crypto";
import { Element, x } from "../xml/element.js";
import type { Server } from "../core/server.js";
import type { RosterItem } from "../storage/types.js";

export const NS_ROSTER = "jabber:iq:roster";

/** A pending request from someone the user never added: stored, but not part of the roster. */
export function isHidden(item: RosterItem): boolean {
  return item.subscription === "none" && !item.ask && !!item.pendingIn && item.name === undefined && item.groups.length === 0;
}

/** <item/> as it appears in roster results and pushes. */
export function itemElement(item: RosterItem): Element {
  const el = x("item", { jid: item.jid, name: item.name || undefined, subscription: item.subscription, ask: item.ask });
  for (const g of item.groups) el.c("group").t(g);
  return el;
}

/** Sends a roster push (RFC 6121 §2.1.6) to every interested resource of the account. */
export function pushRosterItem(server: Server, username: string, item: Element, ver: number | undefined): void {
  for (const s of server.registry.sessionsOf(username)) {
    if (!s.data.rosterRequested || !s.jid) continue;
    const iq = x(
      "iq",
      { type: "set", id: "push-" + randomBytes(6).toString("base64url"), to: s.jid.toString() },
      x("query", { xmlns: NS_ROSTER, ver: ver === undefined ? undefined : String(ver) }, item.clone()),
    );
    s.send(iq);
  }
}

// --- per-account serialisation of roster read-modify-write -------------------------------

const locks = new WeakMap<Server, Map<string, Promise<unknown>>>();

/** Runs `fn` after every earlier roster update of the same account has finished. */
export function withRosterLock<T>(server: Server, username: string, fn: () => Promise<T>): Promise<T> {
  let m = locks.get(server);
  if (!m) {
    m = new Map();
    locks.set(server, m);
  }
  const map = m;
  const prev = map.get(username) ?? Promise.resolve();
  const run = prev.then(fn, fn);
  const tail = run.then(
    () => undefined,
    () => undefined,
  );
  map.set(username, tail);
  void tail.then(() => {
    if (map.get(username) === tail) map.delete(username);
  });
  return run;
}

export interface ItemUpdate {
  before: RosterItem | undefined;
  /** The stored item after the update (undefined: there is none). */
  after: RosterItem | undefined;
  changed: boolean;
}

function same(a: RosterItem | undefined, b: RosterItem | undefined): boolean {
  if (!a || !b) return a === b;
  return (
    a.jid === b.jid &&
    a.name === b.name &&
    a.subscription === b.subscription &&
    (a.ask ?? undefined) === (b.ask ?? undefined) &&
    !!a.pendingIn === !!b.pendingIn &&
    a.groups.length === b.groups.length &&
    a.groups.every((g, i) => g === b.groups[i])
  );
}

function visiblySame(a: RosterItem, b: RosterItem): boolean {
  return same({ ...a, pendingIn: false }, { ...b, pendingIn: false });
}

/**
 * Changes one roster item: `mutate` gets a copy of the current item (or undefined) and
 * returns the new one, or undefined to delete it. Stores it, and pushes the change to the
 * interested resources when the visible roster changed. `explicit` marks a change the user
 * asked for with a roster set: the item is then always visible.
 * Each call is one storage transaction; an update touching two accounts is two calls (a
 * crash in between leaves at most a one-sided state, which RFC 6121 tolerates and repairs
 * on the next subscription exchange).
 */
export function updateItem(
  server: Server,
  username: string,
  jid: string,
  mutate: (item: RosterItem | undefined) => RosterItem | undefined,
  explicit = false,
): Promise<ItemUpdate> {
  return withRosterLock(server, username, async () => {
    const before = await server.storage.roster.getItem(username, jid);
    let after = mutate(before ? { ...before, groups: [...before.groups] } : undefined);
    const wasVisible = !!before && !isHidden(before);
    if (after) {
      if (!after.ask) delete after.ask;
      if (!after.pendingIn) delete after.pendingIn;
      if ((explicit || wasVisible) && isHidden(after)) after.name = "";
      // A hidden request that is no longer pending is no item at all.
      if (!explicit && before && !wasVisible && after.subscription === "none" && !after.ask && !after.pendingIn && !after.name && after.groups.length === 0)
        after = undefined;
    }
    if (same(before, after)) {
      // A roster set is answered with a push even when it changed nothing (RFC 6121 §2.4.2).
      if (explicit && before && !isHidden(before)) pushRosterItem(server, username, itemElement(before), await server.storage.roster.version(username));
      return { before, after: before, changed: false };
    }
    if (!after) {
      const ver = await server.storage.roster.removeItem(username, jid);
      if (wasVisible) pushRosterItem(server, username, x("item", { jid, subscription: "remove" }), ver);
      return { before, after, changed: true };
    }
    const ver = await server.storage.roster.setItem(username, after);
    if (!isHidden(after) && (!wasVisible || !visiblySame(before, after))) pushRosterItem(server, username, itemElement(after), ver);
    return { before, after, changed: true };
  });
}
