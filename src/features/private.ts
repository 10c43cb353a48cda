// Private XML storage (XEP-0049 jabber:iq:private): an account keeps one element per
// namespace on the server (client preferences, XEP-0048 bookmarks). Only the account itself
// reads or writes it (§2.3: forbidden for anyone else); reserved namespaces ('jabber:*',
// 'http://jabber.org/*', 'vcard-temp') are refused with not-acceptable, as is a query that
// does not hold exactly one element with its own namespace. Limits (private_max_size per
// element, private_max_items namespaces per account) are checked before anything is stored.
import { x, type Element } from "../xml/element.js";
import { iqResult } from "../core/router.js";
import { stanzaErrors, type StanzaErrorDef } from "../core/errors.js";
import { parseStanza } from "../xml/parse.js";
import type { Server } from "../core/server.js";
import { defineFeature } from "../core/feature.js";

export const NS_PRIVATE = "jabber:iq:private";
const KIND = "private";

const reserved = (ns: string) => ns.startsWith("jabber:") || ns.startsWith("http://jabber.org/") || ns === "vcard-temp";

/** The one element of the query and its namespace, or the error that refuses it. */
function payloadOf(query: Element): { el: Element; ns: string } | StanzaErrorDef {
  const children = query.elements();
  if (children.length !== 1) return stanzaErrors.privateOneElement;
  const el = children[0]!;
  const ns = el.getNS() ?? NS_PRIVATE;
  if (reserved(ns)) return stanzaErrors.privateReserved;
  return { el, ns };
}

/** An account's stored element of a namespace, for other features (XEP-0411 bookmarks). */
export async function readPrivate(server: Server, username: string, ns: string): Promise<Element | undefined> {
  const xml = await server.storage.documents.get(username, KIND, ns);
  return xml === undefined ? undefined : parseStanza(xml);
}

/** Stores an element (its namespace spelt out) on an account's behalf; false when a limit refused it. */
export async function writePrivate(server: Server, username: string, el: Element): Promise<boolean> {
  const xml = el.toString();
  if (Buffer.byteLength(xml) > server.config.private_max_size) return false;
  return server.storage.documents.put(username, KIND, el.attrs.xmlns!, xml, server.config.private_max_items);
}

export default defineFeature({ name: "private", setup: privateStorage });

function privateStorage(server: Server): void {
  server.bus.on(`iq-get/self/${NS_PRIVATE}:query`, async ({ stanza, origin, to }) => {
    const p = payloadOf(stanza.getChild("query", NS_PRIVATE)!);
    if ("condition" in p) return (server.router.bounce(stanza, p, origin), true);
    const stored = await readPrivate(server, to.local!, p.ns);
    // Nothing stored (or stored under another name): the empty element asked for.
    const el = stored?.name === p.el.name ? stored : x(p.el.name, { xmlns: p.ns });
    origin?.send(iqResult(stanza, x("query", { xmlns: NS_PRIVATE }, el)));
    return true;
  });

  server.bus.on(`iq-set/self/${NS_PRIVATE}:query`, async ({ stanza, origin, to }) => {
    const p = payloadOf(stanza.getChild("query", NS_PRIVATE)!);
    if ("condition" in p) return (server.router.bounce(stanza, p, origin), true);
    const el = p.el.clone();
    el.attrs.xmlns = p.ns; // stored detached from the query: its namespace spelt out
    const xml = el.toString();
    if (Buffer.byteLength(xml) > server.config.private_max_size) return (server.router.bounce(stanza, stanzaErrors.privateTooLarge, origin), true);
    const ok = await server.storage.documents.put(to.local!, KIND, p.ns, xml, server.config.private_max_items);
    if (!ok) return (server.router.bounce(stanza, stanzaErrors.privateFull, origin), true);
    origin?.send(iqResult(stanza));
    await server.bus.emit("private-stored", { username: to.local!, element: el }, (err) => server.log.error({ err }, "private-stored handler failed"));
    return true;
  });

  // Someone else's private storage (§2.3).
  for (const type of ["get", "set"] as const) {
    server.bus.on(`iq-${type}/bare/${NS_PRIVATE}:query`, ({ stanza, origin }) => (server.router.bounce(stanza, stanzaErrors.forbidden, origin), true));
  }
}
