// Message Carbons (XEP-0280): copies of a user's chat messages to their other resources that
// enabled carbons, so every device shows the whole conversation. Enabled by IQ or inline in Bind2.
import { x, type Element } from "../xml/element.js";
import { iqResult, type StanzaEvent } from "../core/router.js";
import type { Server } from "../core/server.js";
import type { Session } from "../core/session.js";
import { defineFeature } from "../core/feature.js";
import { asSenderSees } from "./mam/stanza-id.js";

declare module "../core/session.js" {
  interface SessionData {
    /** Message carbons enabled (XEP-0280). */
    carbons?: boolean;
  }
}

const NS_CARBONS = "urn:xmpp:carbons:2";
const NS_FORWARD = "urn:xmpp:forward:0";
const NS_HINTS = "urn:xmpp:hints";

function eligible(stanza: Element): boolean {
  const type = stanza.attrs.type ?? "normal";
  if (type !== "chat") return false;
  if (stanza.getChild("private", NS_CARBONS) || stanza.getChild("no-copy", NS_HINTS)) return false;
  return !stanza.getChild("received", NS_CARBONS) && !stanza.getChild("sent", NS_CARBONS);
}

function copy(server: Server, user: string, stanza: Element, kind: "sent" | "received", except?: Session): void {
  for (const s of server.registry.sessionsOf(user)) {
    if (s === except || !s.data.carbons) continue;
    s.send(
      x(
        "message",
        { xmlns: "jabber:client", from: `${user}@${server.config.domain}`, to: s.jid!.toString(), type: stanza.attrs.type },
        x(kind, { xmlns: NS_CARBONS }, x("forwarded", { xmlns: NS_FORWARD }, kind === "sent" ? asSenderSees(stanza) : stanza)),
      ),
    );
  }
}

export default defineFeature({ name: "carbons", setup: carbons });

function carbons(server: Server): void {
  server.hostFeatures.add(NS_CARBONS);
  const set =
    (on: boolean) =>
    ({ stanza, origin }: StanzaEvent) => {
      if (origin) origin.data.carbons = on;
      origin?.send(iqResult(stanza));
      return true;
    };
  for (const kind of ["host", "self"] as const) {
    server.bus.on(`iq-set/${kind}/${NS_CARBONS}:enable`, set(true));
    server.bus.on(`iq-set/${kind}/${NS_CARBONS}:disable`, set(false));
  }

  server.bus.on("bind2-inline", ({ inline }) => {
    inline.c("feature", { var: NS_CARBONS });
  });
  server.bus.on("bind2-enable", ({ session, request, bound }) => {
    if (!request.getChild("enable", NS_CARBONS)) return;
    session.data.carbons = true;
    bound.c("enabled", { xmlns: NS_CARBONS });
  });

  // Sent by this user: copy to their other resources. Received (to the bare or full JID): copy
  // to the resources that did not get the original.
  server.bus.on(
    "message/client",
    ({ stanza, origin }) => {
      if (origin && eligible(stanza)) copy(server, origin.username!, stanza, "sent", origin);
    },
    "early",
  );
  server.bus.on(
    "message/full",
    ({ stanza, to }) => {
      if (eligible(stanza) && server.registry.get(to.local!, to.resource!))
        copy(server, to.local!, stanza, "received", server.registry.get(to.local!, to.resource!));
    },
    "early",
  );
}
