// Service discovery (XEP-0030) for the server and for accounts' bare JIDs.
import { x, type Element } from "../xml/element.js";
import { iqResult } from "../core/router.js";
import { stanzaErrors } from "../core/errors.js";
import type { Server } from "../core/server.js";
import type { JID } from "../core/jid.js";
import { defineFeature } from "../core/feature.js";

const NS_INFO = "http://jabber.org/protocol/disco#info";
const NS_ITEMS = "http://jabber.org/protocol/disco#items";

export default defineFeature({ name: "disco", setup: disco });

function disco(server: Server): void {
  server.hostFeatures.add(NS_INFO).add(NS_ITEMS);
  server.accountFeatures.add(NS_INFO).add(NS_ITEMS);

  const info = (identity: Element, features: Set<string>, node?: string) => {
    const q = x("query", { xmlns: NS_INFO, node }, identity);
    for (const f of [...features].sort()) q.c("feature", { var: f });
    return q;
  };

  server.bus.on(`iq-get/host/${NS_INFO}:query`, async ({ stanza, origin }) => {
    const node = stanza.getChild("query")!.attrs.node;
    if (node) return (server.router.bounce(stanza, stanzaErrors.itemNotFound, origin), true);
    const query = info(x("identity", { category: "server", type: "im", name: "Warden" }), server.hostFeatures);
    await server.bus.emit("disco-host-info", { query });
    origin?.send(iqResult(stanza, query));
    return true;
  });

  server.bus.on(`iq-get/host/${NS_ITEMS}:query`, ({ stanza, origin }) => {
    origin?.send(iqResult(stanza, x("query", { xmlns: NS_ITEMS, node: stanza.getChild("query")!.attrs.node })));
    return true;
  });

  const mayKnow = async (from: JID, to: JID): Promise<boolean> => {
    const allowed = from.bareString === to.bareString || (await server.storage.roster.getItem(to.local!, from.bareString))?.subscription.match(/^(from|both)$/);
    return Boolean(allowed && (await server.storage.users.get(to.local!)));
  };

  // An account's bare JID: answered by the server on its behalf (RFC 6121 §8.5.1), but only
  // to the account itself or to contacts with a presence subscription, so disco does not leak.
  server.bus.on(`iq-get/bare/${NS_INFO}:query`, async ({ stanza, origin, from, to }) => {
    if (!(await mayKnow(from, to))) return (server.router.bounce(stanza, stanzaErrors.serviceUnavailable, origin), true);
    const query = info(x("identity", { category: "account", type: "registered" }), server.accountFeatures);
    await server.bus.emit("disco-account-info", { username: to.local!, requester: from, query });
    origin?.send(iqResult(stanza, query));
    return true;
  });

  // The same rule for items; features (PEP) add what this requester may see.
  server.bus.on(`iq-get/bare/${NS_ITEMS}:query`, async ({ stanza, origin, from, to }) => {
    if (!(await mayKnow(from, to))) return (server.router.bounce(stanza, stanzaErrors.serviceUnavailable, origin), true);
    const query = x("query", { xmlns: NS_ITEMS });
    if (stanza.getChild("query")!.attrs.node === undefined) await server.bus.emit("disco-account-items", { username: to.local!, requester: from, query });
    origin?.send(iqResult(stanza, query));
    return true;
  });
}
