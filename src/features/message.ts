// Message delivery to local accounts (RFC 6121 §8.5.2–8.5.3). When no resource can take a
// message, it becomes a "message/offline" event (offline storage), or an error if none stores it.
import type { Server } from "../core/server.js";
import type { StanzaEvent } from "../core/router.js";
import type { Session } from "../core/session.js";
import { stanzaErrors } from "../core/errors.js";
import { defineFeature } from "../core/feature.js";

function available(server: Server, username: string): Session[] {
  return server.registry.sessionsOf(username).filter((s) => s.presence !== undefined && s.priority >= 0);
}

export default defineFeature({ name: "message", setup: message });

function message(server: Server): void {
  const bareDelivery = async (ev: StanzaEvent) => {
    const type = ev.stanza.attrs.type ?? "normal";
    if (type === "error") return true;
    if (type === "groupchat") return (server.router.bounce(ev.stanza, stanzaErrors.serviceUnavailable, ev.origin), true);
    const targets = available(server, ev.to.local!);
    if (targets.length > 0) {
      // Every non-negative resource gets it (RFC 6121 §8.5.2.1.1, second option).
      for (const s of targets) s.send(ev.stanza);
      return true;
    }
    if (type === "headline") return true;
    const exists = server.registry.sessionsOf(ev.to.local!).length > 0 || (await server.storage.users.get(ev.to.local!)) !== undefined;
    if (!exists) return (server.router.bounce(ev.stanza, stanzaErrors.serviceUnavailable, ev.origin), true);
    const stored = await server.bus.fire("message/offline", ev);
    if (stored === undefined) server.router.bounce(ev.stanza, stanzaErrors.serviceUnavailable, ev.origin);
    return true;
  };

  server.bus.on("message/bare", bareDelivery, "fallback");

  server.bus.on(
    "message/full",
    async (ev) => {
      const target = server.registry.get(ev.to.local!, ev.to.resource!);
      if (target) {
        target.send(ev.stanza);
        return true;
      }
      const type = ev.stanza.attrs.type ?? "normal";
      if (type === "error") return true;
      if (type === "groupchat") return (server.router.bounce(ev.stanza, stanzaErrors.serviceUnavailable, ev.origin), true);
      // A full JID that is gone is treated as the bare JID (RFC 6121 §8.5.3.2.1).
      return bareDelivery(ev);
    },
    "fallback",
  );

  // Messages to the server itself: nothing reads them.
  server.bus.on("message/host", () => true, "fallback");
}
