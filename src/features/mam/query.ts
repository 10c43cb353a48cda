// Querying the archive (XEP-0313 §4, §5): the owner pages through it with RSM; each message
// comes back as <result><forwarded><delay/>…</forwarded></result>, then the IQ result carries
// <fin complete><set first last count/></fin>. Also the form discovery (§4.1.5) and the
// archive metadata (§7). Only the account itself may read its archive.
import { x, type Element } from "../../xml/element.js";
import { iqResult, type StanzaEvent } from "../../core/router.js";
import type { Server } from "../../core/server.js";
import type { Session } from "../../core/session.js";
import { StanzaError, stanzaErrors } from "../../core/errors.js";
import { randomId } from "../../core/random.js";
import { parseStanza } from "../../xml/parse.js";
import type { ArchivedMessage, ArchivePage } from "../../storage/types.js";
import { NS_MAM, parseQuery } from "./form.js";

const NS_DATA = "jabber:x:data";
const NS_RSM = "http://jabber.org/protocol/rsm";
const NS_FORWARD = "urn:xmpp:forward:0";
const NS_DELAY = "urn:xmpp:delay";
const NS_VALIDATE = "http://jabber.org/protocol/xdata-validate";

/** Called after every query the owner made, for the client list (sync.ts). */
export type OnQuery = (session: Session) => void;

function queryForm(): Element {
  const field = (type: string, v: string, ...children: Element[]) => x("field", { type, var: v }, ...children);
  return x(
    "query",
    { xmlns: NS_MAM },
    x(
      "x",
      { xmlns: NS_DATA, type: "form" },
      field("hidden", "FORM_TYPE", x("value", null, NS_MAM)),
      field("jid-single", "with"),
      field("text-single", "start"),
      field("text-single", "end"),
      field("text-single", "before-id"),
      field("text-single", "after-id"),
      // An open list (XEP-0122): the ids are never listed (XEP-0313 §4.1.5).
      field("list-multi", "ids", x("validate", { xmlns: NS_VALIDATE, datatype: "xs:string" }, x("open"))),
    ),
  );
}

function resultMessage(session: Session, m: ArchivedMessage, queryid: string | undefined): Element | undefined {
  const original = parseStanza(m.stanza);
  if (!original) return undefined;
  return x(
    "message",
    { xmlns: "jabber:client", to: session.jid!.toString(), id: randomId(9) },
    x(
      "result",
      { xmlns: NS_MAM, queryid, id: m.id },
      x("forwarded", { xmlns: NS_FORWARD }, x("delay", { xmlns: NS_DELAY, stamp: new Date(m.at).toISOString() }), original),
    ),
  );
}

function fin(page: ArchivePage): Element {
  const set = x("set", { xmlns: NS_RSM });
  const first = page.items[0];
  const last = page.items[page.items.length - 1];
  // An empty page has neither (XEP-0059 §2.7): clients stop paging there.
  if (first && last) set.c("first").t(first.id).up().c("last").t(last.id);
  if (page.count !== undefined) set.cnode(x("count", null, String(page.count)));
  return x("fin", { xmlns: NS_MAM, complete: page.complete ? "true" : undefined }, set);
}

export function queries(server: Server, onQuery: OnQuery): void {
  const owner = (ev: StanzaEvent): Session => {
    const s = ev.origin;
    if (!s?.username || !s.jid) throw new StanzaError(stanzaErrors.mamNotOwner);
    return s;
  };

  server.bus.on(`iq-set/self/${NS_MAM}:query`, async (ev) => {
    const session = owner(ev);
    const { queryid, flip, q } = parseQuery(ev.stanza.getChild("query", NS_MAM)!, server.config.max_archive_query_results);
    const page = await server.storage.archive.query(session.username!, q);
    if (page === "item-not-found") throw new StanzaError(stanzaErrors.mamUnknownId);
    // The whole set on one page: its count is known without counting.
    if (page.count === undefined && page.complete && q.pageAfter === undefined && q.pageBefore === undefined) page.count = page.items.length;
    const items = flip ? [...page.items].reverse() : page.items;
    for (const m of items) {
      if (session.closed) return true;
      const msg = resultMessage(session, m, queryid);
      if (msg) session.send(msg);
      // A full page must not count as output the client failed to read (c2s_send_buffer_limit).
      await session.transport.drained();
    }
    session.send(iqResult(ev.stanza, fin(page)));
    onQuery(session);
    return true;
  });

  server.bus.on(`iq-get/self/${NS_MAM}:query`, (ev) => {
    owner(ev).send(iqResult(ev.stanza, queryForm()));
    return true;
  });

  server.bus.on(`iq-get/self/${NS_MAM}:metadata`, async (ev) => {
    const session = owner(ev);
    const bounds = await server.storage.archive.bounds(session.username!);
    const meta = x("metadata", { xmlns: NS_MAM });
    if (bounds) {
      const stamp = (m: ArchivedMessage) => new Date(m.at).toISOString();
      meta.cnode(x("start", { id: bounds.first.id, timestamp: stamp(bounds.first) }));
      meta.cnode(x("end", { id: bounds.last.id, timestamp: stamp(bounds.last) }));
    }
    session.send(iqResult(ev.stanza, meta));
    return true;
  });

  // Another account's archive: never (its owner's alone).
  for (const type of ["get", "set"] as const)
    for (const name of ["query", "metadata", "prefs"])
      server.bus.on(`iq-${type}/bare/${NS_MAM}:${name}`, () => {
        throw new StanzaError(stanzaErrors.mamNotOwner);
      });
}
