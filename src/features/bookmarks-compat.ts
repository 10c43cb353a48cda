// Bookmarks kept the same in both stores (XEP-0411, XEP-0402 §5.3): legacy clients read and
// write <storage xmlns="storage:bookmarks"/> in private XML (XEP-0048 over XEP-0049), new ones
// the PEP node urn:xmpp:bookmarks:1, one item per room (id = the room's JID). A private write
// is published as items (changed ones only) and retracts the rooms it no longer holds; a PEP
// change rebuilds the private copy from every item, keeping the legacy <url/> bookmarks that
// PEP has no place for. While one side is being copied into the other, that other side's
// events are ignored for the account, so the two never echo each other.
import { x, type Element } from "../xml/element.js";
import { parseJid } from "../core/jid.js";
import { StanzaError } from "../core/errors.js";
import type { Server } from "../core/server.js";
import { defineFeature } from "../core/feature.js";
import { readPrivate, writePrivate } from "./private.js";

const NS_LEGACY = "storage:bookmarks";
const NS_BOOKMARKS = "urn:xmpp:bookmarks:1";
/** XEP-0402 §3: the node's publish options. */
const OPTIONS = {
  "pubsub#persist_items": "true",
  "pubsub#max_items": "max",
  "pubsub#send_last_published_item": "never",
  "pubsub#access_model": "whitelist",
};
const TRUE = new Set(["true", "1"]);

/** A legacy <conference jid=…/> as a bookmarks:1 item, or undefined when its JID is not one. */
function toItem(legacy: Element): Element | undefined {
  const jid = parseJid(legacy.attrs.jid ?? "");
  if (!jid?.local || jid.resource) return undefined;
  const conf = x("conference", { xmlns: NS_BOOKMARKS, name: legacy.attrs.name, autojoin: TRUE.has(legacy.attrs.autojoin ?? "") ? "true" : undefined });
  for (const name of ["nick", "password"]) {
    const text = legacy.getChildText(name);
    if (text !== undefined) conf.c(name).t(text);
  }
  return x("item", { id: jid.toString() }, conf);
}

/** A bookmarks:1 item as a legacy <conference/>. */
function toLegacy(item: Element): Element | undefined {
  const conf = item.getChild("conference", NS_BOOKMARKS);
  if (!conf || !item.attrs.id) return undefined;
  const out = x("conference", { jid: item.attrs.id, name: conf.attrs.name, autojoin: TRUE.has(conf.attrs.autojoin ?? "") ? "true" : "false" });
  for (const name of ["nick", "password"]) {
    const text = conf.getChildText(name);
    if (text !== undefined) out.c(name).t(text);
  }
  return out;
}

export default defineFeature({ name: "bookmarks-compat", needs: ["pep"], after: ["private"], setup: bookmarksCompat });

function bookmarksCompat(server: Server): void {
  const pep = server.services.get("pep");
  server.accountFeatures.add(`${NS_BOOKMARKS}#compat`);
  const copying = new Set<string>();
  const exclusive = async (username: string, fn: () => Promise<void>) => {
    copying.add(username);
    try {
      await fn();
    } catch (err) {
      if (!(err instanceof StanzaError)) throw err;
      server.log.info({ username, condition: err.def.condition }, "bookmarks not copied between private XML and PEP");
    } finally {
      copying.delete(username);
    }
  };

  server.bus.on("private-stored", ({ username, element }) => {
    if (element.name !== "storage" || element.attrs.xmlns !== NS_LEGACY || copying.has(username)) return;
    return exclusive(username, async () => {
      const have = new Map((await pep.items(username, NS_BOOKMARKS)).map((i) => [i.attrs.id!, i.toString()]));
      const want = new Map<string, Element>();
      for (const c of element.getChildren("conference")) {
        const item = toItem(c);
        if (item) want.set(item.attrs.id!, item);
      }
      for (const [id, item] of want) if (have.get(id) !== item.toString()) await pep.publish(username, NS_BOOKMARKS, item, OPTIONS);
      for (const id of have.keys()) if (!want.has(id)) await pep.retract(username, NS_BOOKMARKS, id);
    });
  });

  const rebuild = (username: string) => {
    if (copying.has(username)) return;
    return exclusive(username, async () => {
      const old = await readPrivate(server, username, NS_LEGACY);
      const storage = x("storage", { xmlns: NS_LEGACY });
      for (const item of await pep.items(username, NS_BOOKMARKS)) {
        const conf = toLegacy(item);
        if (conf) storage.cnode(conf);
      }
      for (const url of old?.getChildren("url") ?? []) storage.cnode(url.clone());
      if (!(await writePrivate(server, username, storage))) server.log.info({ username }, "bookmarks from PEP too large for private XML");
    });
  };
  server.bus.on("pep-published", ({ owner, node }) => (node === NS_BOOKMARKS ? rebuild(owner) : undefined));
  server.bus.on("pep-retracted", ({ owner, node }) => (node === NS_BOOKMARKS ? rebuild(owner) : undefined));
  server.bus.on("pep-node-deleted", ({ owner, node }) => (node === NS_BOOKMARKS ? rebuild(owner) : undefined));
}
