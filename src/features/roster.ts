// Roster management (RFC 6121 §2) with roster versioning (RFC 6121 §2.6): get, set (add or
// update one item) and remove. Subscription states are changed by the presence feature; a
// roster set never touches them. Removing an item cancels the subscriptions in both
// directions by sending unsubscribe / unsubscribed to the contact (RFC 6121 §2.5.2).
import { x } from "../xml/element.js";
import { iqResult, type StanzaEvent } from "../core/router.js";
import { stanzaErrors, type StanzaErrorDef } from "../core/errors.js";
import { parseJid, type JID } from "../core/jid.js";
import type { Server } from "../core/server.js";
import type { RosterItem } from "../storage/types.js";
import { NS_ROSTER, isHidden, itemElement, updateItem } from "./roster-push.js";
import { defineFeature } from "../core/feature.js";

declare module "../core/session.js" {
  interface SessionData {
    /** It fetched the roster, so it gets roster pushes (RFC 6121 §2.1.6). */
    rosterRequested?: boolean;
  }
}

const NS_ROSTERVER = "urn:xmpp:features:rosterver";
/** Longest item name and group name accepted, in characters (RFC 6121 §2.3.3 "server-configured limit"). */
const MAX_NAME = 1023;
const MAX_GROUPS = 100;

export default defineFeature({ name: "roster", setup: roster });

function roster(server: Server): void {
  const fail = (ev: StanzaEvent, def: StanzaErrorDef, text?: string) => {
    server.router.bounce(ev.stanza, def, ev.origin, text);
    return true;
  };

  // Roster versioning is advertised with the post-authentication features (RFC 6121 §2.6.1).
  server.bus.on("stream-features", ({ session, features }) => {
    if (session.authenticated && !session.bound) features.c("ver", { xmlns: NS_ROSTERVER });
  });

  server.bus.on(`iq-get/self/${NS_ROSTER}:query`, async (ev) => {
    const username = ev.from.local!;
    if (ev.origin) ev.origin.data.rosterRequested = true;
    const ver = String(await server.storage.roster.version(username));
    const clientVer = ev.stanza.getChild("query")!.attrs.ver;
    if (clientVer !== undefined && clientVer === ver) {
      // Up to date: an empty result, changes follow as pushes (RFC 6121 §2.6.3).
      ev.origin?.send(iqResult(ev.stanza));
      return true;
    }
    const items = await server.storage.roster.get(username);
    const query = x("query", { xmlns: NS_ROSTER, ver });
    for (const item of items) if (!isHidden(item)) query.cnode(itemElement(item));
    ev.origin?.send(iqResult(ev.stanza, query));
    return true;
  });

  server.bus.on(`iq-set/self/${NS_ROSTER}:query`, async (ev) => {
    const query = ev.stanza.getChild("query")!;
    const items = query.getChildren("item");
    if (items.length !== 1 || query.elements().length !== 1) return fail(ev, stanzaErrors.badRequest, "A roster set carries exactly one item");
    const el = items[0]!;
    const jid = el.attrs.jid === undefined ? undefined : parseJid(el.attrs.jid);
    if (!jid) return fail(ev, stanzaErrors.jidMalformed, "The item's JID is missing or invalid");
    if (jid.resource) return fail(ev, stanzaErrors.badRequest, "Roster items are bare JIDs");
    const username = ev.from.local!;
    const contact = jid.bareString;

    if (el.attrs.subscription === "remove") {
      const existing = await server.storage.roster.getItem(username, contact);
      if (!existing) return fail(ev, stanzaErrors.itemNotFound);
      await removeItem(server, username, ev.from, jid);
      ev.origin?.send(iqResult(ev.stanza));
      return true;
    }

    // Any other 'subscription' value, and 'ask', are ignored (RFC 6121 §2.1.2.5).
    if (contact === ev.from.bareString) return fail(ev, stanzaErrors.notAllowed, "Your own JID is not a roster item");
    const name = el.attrs.name;
    if (name !== undefined && name.length > MAX_NAME) return fail(ev, stanzaErrors.notAcceptable, "The name is too long");
    const groups: string[] = [];
    for (const g of el.getChildren("group")) {
      const text = g.getText();
      if (text.length === 0) return fail(ev, stanzaErrors.notAcceptable, "Empty group name");
      if (text.length > MAX_NAME) return fail(ev, stanzaErrors.notAcceptable, "The group name is too long");
      if (groups.includes(text)) return fail(ev, stanzaErrors.badRequest, "Duplicate group");
      groups.push(text);
    }
    if (groups.length > MAX_GROUPS) return fail(ev, stanzaErrors.notAcceptable, "Too many groups");

    await updateItem(
      server,
      username,
      contact,
      (item): RosterItem => {
        const next: RosterItem = item ?? { jid: contact, subscription: "none", groups: [] };
        next.groups = groups;
        if (name === undefined || name === "") delete next.name;
        else next.name = name;
        return next;
      },
      true,
    );
    ev.origin?.send(iqResult(ev.stanza));
    return true;
  });

  // Someone else's roster: only the account itself may read or change it (RFC 6121 §2.1.5).
  for (const type of ["get", "set"] as const) {
    server.bus.on(
      `iq-${type}/bare/${NS_ROSTER}:query`,
      (ev) => {
        if (ev.from.bareString === ev.to.bareString) return undefined;
        return fail(ev, stanzaErrors.forbidden);
      },
      "lower",
    );
  }
}

/**
 * Removes a roster item and cancels the subscriptions it carried (RFC 6121 §2.5.2): an
 * unsubscribe when the user was subscribed to the contact (or asked to be), an unsubscribed
 * when the contact was subscribed to the user (or asked to be). Pushes the removal.
 */
export async function removeItem(server: Server, username: string, user: JID, contact: JID): Promise<void> {
  const { before } = await updateItem(server, username, contact.bareString, () => undefined, true);
  if (!before) return;
  const from = user.bare();
  const to = contact.bare();
  if (before.subscription === "to" || before.subscription === "both" || before.ask) {
    await server.router.route(x("presence", { type: "unsubscribe", from: from.toString(), to: to.toString() }), from, to);
  }
  if (before.subscription === "from" || before.subscription === "both" || before.pendingIn) {
    await server.router.route(x("presence", { type: "unsubscribed", from: from.toString(), to: to.toString() }), from, to);
  }
}
