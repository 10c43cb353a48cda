// Service discovery (XEP-0030) for the server and for accounts' bare JIDs. Other features add
// to the server's answers through the `disco` service: extension forms (XEP-0128: contact
// addresses, XEP-0157), and items (the local service domains, such as the SOCKS5 proxy).
import { x, type Element } from "../xml/element.js";
import { iqResult } from "../core/router.js";
import { stanzaErrors } from "../core/errors.js";
import type { Server } from "../core/server.js";
import type { JID } from "../core/jid.js";
import { defineFeature } from "../core/feature.js";

const NS_INFO = "http://jabber.org/protocol/disco#info";
const NS_ITEMS = "http://jabber.org/protocol/disco#items";
const NS_DATA = "jabber:x:data";

/** A XEP-0128 extension form: its FORM_TYPE and its fields, each with its values. */
export interface ExtensionForm {
  formType: string;
  fields: ReadonlyArray<{ var: string; values: readonly string[] }>;
}

/** A disco#info identity (XEP-0030 §3.1). */
export interface DiscoIdentity {
  category: string;
  type: string;
  name?: string;
}

/** An entry of the server's disco#items. */
export interface DiscoItem {
  jid: string;
  name?: string;
}

/** What the server says of itself in disco#info, for features to add to and read. */
export interface Disco {
  /** Another identity of the server itself (XEP-0363's store/file: the upload service is the domain). */
  addHostIdentity(identity: DiscoIdentity): void;
  addHostForm(form: ExtensionForm): void;
  addHostItem(item: DiscoItem): void;
  /** The server's identity, features and forms (XEP-0115 hashes exactly these). */
  hostIdentities(): readonly DiscoIdentity[];
  hostForms(): readonly ExtensionForm[];
  /** The server's disco#info <query/>, with `node` when asked for one (XEP-0115's NODE#VER). */
  hostInfo(node?: string): Element;
}

declare module "../core/services.js" {
  interface Services {
    disco: Disco;
  }
}

export default defineFeature({ name: "disco", provides: ["disco"], setup: disco });

/** A XEP-0004 result form, FORM_TYPE hidden first (XEP-0068). */
export function formElement(form: ExtensionForm): Element {
  const el = x("x", { xmlns: NS_DATA, type: "result" });
  el.c("field", { var: "FORM_TYPE", type: "hidden" }).c("value").t(form.formType);
  for (const f of form.fields) {
    const field = el.c("field", { var: f.var });
    for (const v of f.values) field.c("value").t(v);
  }
  return el;
}

function disco(server: Server): void {
  server.hostFeatures.add(NS_INFO).add(NS_ITEMS);
  server.accountFeatures.add(NS_INFO).add(NS_ITEMS);
  const identities: DiscoIdentity[] = [{ category: "server", type: "im", name: "Warden" }];
  const forms: ExtensionForm[] = [];
  const items: DiscoItem[] = [];

  const info = (identity: Element | Element[], features: Set<string>, node?: string) => {
    const q = x("query", { xmlns: NS_INFO, node }, ...[identity].flat());
    for (const f of [...features].sort()) q.c("feature", { var: f });
    return q;
  };

  const service: Disco = {
    addHostForm: (form) => {
      if (forms.some((f) => f.formType === form.formType)) throw new Error(`the disco#info form '${form.formType}' is added twice`);
      forms.push(form);
    },
    addHostItem: (item) => void items.push(item),
    addHostIdentity: (identity) => void identities.push(identity),
    hostIdentities: () => identities,
    hostForms: () => forms,
    hostInfo: (node) => {
      const q = info(
        identities.map((i) => x("identity", { ...i })),
        server.hostFeatures,
        node,
      );
      for (const f of forms) q.cnode(formElement(f));
      return q;
    },
  };
  server.services.provide("disco", service);

  server.bus.on(`iq-get/host/${NS_INFO}:query`, ({ stanza, origin }) => {
    const node = stanza.getChild("query")!.attrs.node;
    if (node) return (server.router.bounce(stanza, stanzaErrors.itemNotFound, origin), true);
    origin?.send(iqResult(stanza, service.hostInfo()));
    return true;
  });

  server.bus.on(`iq-get/host/${NS_ITEMS}:query`, ({ stanza, origin }) => {
    const node = stanza.getChild("query")!.attrs.node;
    const q = x("query", { xmlns: NS_ITEMS, node });
    if (!node) for (const item of items) q.cnode(x("item", { jid: item.jid, name: item.name }));
    origin?.send(iqResult(stanza, q));
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
