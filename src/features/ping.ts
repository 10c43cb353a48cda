// XMPP Ping (XEP-0199): the server answers pings to itself and to an account's bare JID.
import { iqResult, type StanzaEvent } from "../core/router.js";
import type { Server } from "../core/server.js";
import { defineFeature } from "../core/feature.js";

const NS_PING = "urn:xmpp:ping";

export default defineFeature({ name: "ping", setup: ping });

function ping(server: Server): void {
  server.hostFeatures.add(NS_PING);
  const pong = ({ stanza, origin }: StanzaEvent) => {
    origin?.send(iqResult(stanza));
    return true;
  };
  server.bus.on(`iq-get/host/${NS_PING}:ping`, pong);
  server.bus.on(`iq-get/self/${NS_PING}:ping`, pong);
}
