// Archiving (XEP-0313 §5): a user's one-to-one messages are stored on both sides, as sent by
// the user's clients and as received (to the bare or a full JID, delivered or kept offline),
// before delivery so that the archive id can be stamped on what is delivered (XEP-0359).
// These handlers run at "high", ahead of carbons ("early") and of delivery ("fallback").
import type { Server } from "../../core/server.js";
import type { StanzaEvent } from "../../core/router.js";
import type { JID } from "../../core/jid.js";
import type { Element } from "../../xml/element.js";
import { randomId } from "../../core/random.js";
import { archivable, wanted } from "./policy.js";
import { noteSentId, stanzaIdElement, stripStanzaIds } from "./stanza-id.js";

/** Stores `stanza` in `username`'s archive as exchanged with `other`; the archive id, or undefined when not archived. */
async function archive(server: Server, username: string, other: JID, stanza: Element): Promise<string | undefined> {
  if (!(await wanted(server, username, other.bareString))) return undefined;
  // The time in ms (12 hex digits) then 9 random bytes (12 base64url characters): unique without
  // coordination, and in time order, so each insert lands at the end of the account's part of
  // the (username, id) index instead of at a random page of it (random ids made the index's
  // page writes most of a message's cost once the archive outgrew SQLite's page cache).
  const id = Date.now().toString(16).padStart(12, "0") + randomId(9);
  const stored = stanza.clone();
  stripStanzaIds(stored, `${username}@${server.config.domain}`);
  const m = { id, with: other.bareString, at: Date.now(), stanza: stored.toString() };
  const ok = await server.storage.archive.append(username, other.resource === undefined ? m : { ...m, withResource: other.resource });
  return ok ? id : undefined;
}

export function archiving(server: Server): void {
  const domain = server.config.domain;

  // Sent by the user: into the sender's archive. A message to the user's own account is
  // archived once, as received; one to another server is not, as there is no server-to-server
  // yet and it bounces (an archive holds what was accepted for delivery, XEP-0313 §5.1).
  server.bus.on(
    "message/client",
    async ({ stanza, origin, to }) => {
      if (!origin?.username || stanza.attrs.to === undefined || !to.local || to.domain !== domain) return;
      if (to.local === origin.username || !archivable(stanza)) return;
      const id = await archive(server, origin.username, to, stanza);
      if (id) noteSentId(stanza, `${origin.username}@${domain}`, id);
    },
    "high",
  );

  // Received by a local account: strip ids claiming to be ours, archive, stamp the archive id.
  const received = async (ev: StanzaEvent) => {
    const user = ev.to.local!;
    const by = `${user}@${domain}`;
    const spoofed = ev.stanza.getChildren("stanza-id").some((el) => el.attrs.by?.toLowerCase() === by);
    if (!spoofed && !archivable(ev.stanza)) return;
    // A copy: the original may still sit in the sender's queues (carbons, stream management).
    const stanza = ev.stanza.clone();
    stripStanzaIds(stanza, by);
    const id = archivable(stanza) ? await archive(server, user, ev.from, stanza) : undefined;
    if (id) stanza.cnode(stanzaIdElement(by, id));
    ev.stanza = stanza;
  };
  server.bus.on("message/bare", received, "high");
  server.bus.on("message/full", received, "high");
}
