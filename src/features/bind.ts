// Resource binding (RFC 6120 §7) and the legacy session IQ of RFC 3921 that old clients
// (strophe, tsung, some bots) still send.
import { randomId } from "../core/random.js";
import { x } from "../xml/element.js";
import { iqResult, errorReply } from "../core/router.js";
import { stanzaErrors, streamErrors } from "../core/errors.js";
import { JID, normaliseResource } from "../core/jid.js";
import type { Server } from "../core/server.js";
import type { Session } from "../core/session.js";
import { defineFeature } from "../core/feature.js";

const NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind";
const NS_SESSION = "urn:ietf:params:xml:ns:xmpp-session";
const NS_CLIENT = "jabber:client";

/**
 * Binds a resource to a session and registers it; a session already holding that resource
 * is replaced (closed with `conflict`), as RFC 6120 §7.7.2.2 allows and Bind2 expects.
 * Returns the bound resource. Shared with Bind2 (XEP-0386).
 */
export async function bindResource(server: Server, session: Session, resource: string): Promise<string> {
  session.resource = resource;
  session.jid = new JID(session.username, server.config.domain, resource);
  const old = server.registry.add(session);
  if (old && old !== session) old.close(streamErrors.conflict);
  await server.bus.emit("resource-bound", { session }, (err) => session.log.error({ err }, "resource-bound handler failed"));
  return resource;
}

export function randomResource(): string {
  return "warden-" + randomId(6);
}

export default defineFeature({ name: "bind", setup: bind });

function bind(server: Server): void {
  server.bus.on(
    "stream-features",
    ({ session, features }) => {
      if (!session.authenticated || session.bound) return;
      features.c("bind", { xmlns: NS_BIND });
      // Advertised as optional (RFC 3921bis): clients that send it get a result, others need not.
      features.c("session", { xmlns: NS_SESSION }).c("optional");
    },
    "bindOffer",
  );

  // Before binding, IQs arrive as nonzas (the router needs a JID to route them).
  server.bus.on(`nonza/${NS_CLIENT}:iq`, async ({ session, element }) => {
    const payload = element.elements()[0];
    if (element.attrs.type === "set" && payload?.is("bind", NS_BIND)) {
      const requested = payload.getChildText("resource");
      let resource = randomResource();
      if (requested !== undefined && requested !== "") {
        const norm = normaliseResource(requested);
        if (norm === undefined) {
          session.send(errorReply(element, stanzaErrors.badRequest, server.config.domain, "Invalid resource"));
          return true;
        }
        resource = norm;
      }
      await bindResource(server, session, resource);
      session.send(iqResult(element, x("bind", { xmlns: NS_BIND }, x("jid", null, session.jid!.toString()))));
      return true;
    }
    if (payload?.is("session", NS_SESSION)) {
      session.send(iqResult(element));
      return true;
    }
    session.send(errorReply(element, stanzaErrors.notAllowed, server.config.domain, "Bind a resource first"));
    return true;
  });

  // The legacy session IQ may also come after binding.
  server.bus.on(`iq-set/self/${NS_SESSION}:session`, ({ stanza, origin }) => {
    origin?.send(iqResult(stanza));
    return true;
  });
  server.bus.on(`iq-set/host/${NS_SESSION}:session`, ({ stanza, origin }) => {
    origin?.send(iqResult(stanza));
    return true;
  });
  server.bus.on(`iq-set/self/${NS_BIND}:bind`, ({ stanza, origin }) => {
    origin?.send(errorReply(stanza, stanzaErrors.notAllowed, server.config.domain, "Already bound"));
    return true;
  });
}
