// The blocking command (XEP-0191 §3.1–3.4): the blocklist (whose request makes the session
// "interested" in pushes), block, unblock and unblock-all, each change pushed to every
// interested resource. Blocking sends the user's unavailable presence to the blocked contact's
// sessions that could see it (§3.3); unblocking sends the current presence again (§3.4), and
// the contact's own presence back to the user.
import { randomBytes } from "node:crypto";
import { x, type Element } from "../../xml/element.js";
import { parseJid, type JID } from "../../core/jid.js";
import { iqResult } from "../../core/router.js";
import { stanzaErrors } from "../../core/errors.js";
import type { Server } from "../../core/server.js";
import type { Session } from "../../core/session.js";
import { blocks } from "./lists.js";

declare module "../../core/session.js" {
  interface SessionData {
    /** Asked for the blocklist: gets block and unblock pushes (XEP-0191 §3.3). */
    blocklistRequested?: boolean;
  }
}

export const NS_BLOCKING = "urn:xmpp:blocking";

const itemsOf = (jids: Iterable<string>) => [...jids].sort().map((jid) => x("item", { jid }));

/** The items' JIDs, normalised; undefined when one is missing or not a JID. */
function jidsOf(command: Element): string[] | undefined {
  const out: string[] = [];
  for (const item of command.getChildren("item")) {
    const jid = parseJid(item.attrs.jid ?? "");
    if (!jid) return undefined;
    out.push(jid.toString());
  }
  return out;
}

function push(server: Server, username: string, command: "block" | "unblock", jids: string[]): void {
  for (const s of server.registry.sessionsOf(username)) {
    if (!s.data.blocklistRequested || !s.jid) continue;
    const id = "block-" + randomBytes(6).toString("base64url");
    s.send(x("iq", { type: "set", id, to: s.jid.toString() }, x(command, { xmlns: NS_BLOCKING }, ...itemsOf(jids))));
  }
}

/** The sessions of local contacts with the given subscription that `matches` picks out. */
async function contactSessions(server: Server, username: string, sub: (s: string) => boolean, matches: (jid: JID) => boolean) {
  const out: Session[] = [];
  for (const item of await server.storage.roster.get(username)) {
    const jid = parseJid(item.jid);
    if (!sub(item.subscription) || !jid?.local || jid.domain !== server.config.domain) continue;
    for (const s of server.registry.sessionsOf(jid.local)) if (s.presence !== undefined && s.jid && matches(s.jid)) out.push(s);
  }
  return out;
}
const hasFrom = (s: string) => s === "from" || s === "both";
const hasTo = (s: string) => s === "to" || s === "both";
const copyTo = (presence: Element, to: JID) => {
  const copy = presence.clone();
  copy.attrs.to = to.toString();
  return copy;
};
const availableOf = (server: Server, username: string) => server.registry.sessionsOf(username).filter((s) => s.presence !== undefined && s.jid);

export function onBlockingCommands(server: Server): void {
  const lists = server.services.get("blocklists");
  server.hostFeatures.add(NS_BLOCKING);

  server.bus.on(`iq-get/self/${NS_BLOCKING}:blocklist`, async ({ stanza, origin, to }) => {
    const list = await lists.get(to.local!);
    if (origin) origin.data.blocklistRequested = true;
    origin?.send(iqResult(stanza, x("blocklist", { xmlns: NS_BLOCKING }, ...itemsOf(list))));
    return true;
  });

  server.bus.on(`iq-set/self/${NS_BLOCKING}:block`, async ({ stanza, origin, to }) => {
    const username = to.local!;
    const jids = jidsOf(stanza.getChild("block", NS_BLOCKING)!);
    if (!jids) return (server.router.bounce(stanza, stanzaErrors.jidMalformed, origin), true);
    if (jids.length === 0) return (server.router.bounce(stanza, stanzaErrors.badRequest, origin), true);
    const before = await lists.get(username);
    const fresh = new Set(jids.filter((j) => !before.has(j)));
    if (before.size + fresh.size > server.config.blocklist_max_items) return (server.router.bounce(stanza, stanzaErrors.blocklistFull, origin), true);
    // Before the list changes, or the output filter would stop these very stanzas.
    const newlyBlocked = (jid: JID) => blocks(fresh, jid) && !blocks(before, jid);
    for (const c of await contactSessions(server, username, hasFrom, newlyBlocked)) {
      for (const u of availableOf(server, username)) c.send(x("presence", { type: "unavailable", from: u.jid!.toString(), to: c.jid!.toString() }));
    }
    const added = await lists.add(username, [...fresh]);
    if (!added) return (server.router.bounce(stanza, stanzaErrors.blocklistFull, origin), true);
    origin?.send(iqResult(stanza));
    if (added.length > 0) push(server, username, "block", added);
    return true;
  });

  server.bus.on(`iq-set/self/${NS_BLOCKING}:unblock`, async ({ stanza, origin, to }) => {
    const username = to.local!;
    const jids = jidsOf(stanza.getChild("unblock", NS_BLOCKING)!);
    if (!jids) return (server.router.bounce(stanza, stanzaErrors.jidMalformed, origin), true);
    const all = jids.length === 0;
    const removed = new Set(await lists.remove(username, all ? undefined : jids));
    origin?.send(iqResult(stanza));
    if (removed.size === 0) return true;
    push(server, username, "unblock", all ? [] : [...removed]);
    // Presence again, both ways, where the subscription allows it and no other entry blocks.
    const still = await lists.get(username);
    const unblocked = (jid: JID) => blocks(removed, jid) && !blocks(still, jid);
    const mine = availableOf(server, username);
    for (const c of await contactSessions(server, username, hasFrom, unblocked)) {
      for (const u of mine) c.send(copyTo(u.presence!, c.jid!));
    }
    for (const c of await contactSessions(server, username, hasTo, unblocked)) {
      for (const u of mine) u.send(copyTo(c.presence!, u.jid!));
    }
    return true;
  });
}
