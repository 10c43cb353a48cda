// Offline messages (XEP-0160): stored when no resource is available, delivered with a
// <delay/> stamp (XEP-0203) when the account next sends initial presence.
import type { Server } from "../core/server.js";
import { stanzaErrors } from "../core/errors.js";
import { parseStanza } from "../xml/parse.js";
import { defineFeature } from "../core/feature.js";

const NS_DELAY = "urn:xmpp:delay";

export default defineFeature({ name: "offline", setup: offline });

function offline(server: Server): void {
  server.hostFeatures.add("msgoffline");

  server.bus.on("message/offline", async (ev) => {
    const type = ev.stanza.attrs.type ?? "normal";
    if (type !== "normal" && type !== "chat") return undefined;
    const copy = ev.stanza.clone();
    const now = new Date();
    copy.c("delay", { xmlns: NS_DELAY, from: server.config.domain, stamp: now.toISOString() });
    const ok = await server.storage.offline.push(ev.to.local!, copy.toString(), now.getTime());
    if (!ok) server.router.bounce(ev.stanza, stanzaErrors.offlineFull, ev.origin);
    return true;
  });

  server.bus.on("initial-presence", async ({ session }) => {
    if (session.priority < 0) return;
    const msgs = await server.storage.offline.popAll(session.username!);
    for (const [i, m] of msgs.entries()) {
      // The connection ended while earlier ones drained: what was never written goes back, so
      // the next login gets it (stream management covers what was written but not acknowledged).
      if (session.closed) {
        for (const rest of msgs.slice(i)) await server.storage.offline.push(session.username!, rest.stanza, rest.storedAt);
        return;
      }
      const el = parseStanza(m.stanza);
      if (el) session.send(el);
      // Up to offline_message_limit stanzas in one burst must not count as output the client
      // failed to read (c2s_send_buffer_limit): wait for the socket to take them.
      await session.transport.drained();
    }
  });
}
