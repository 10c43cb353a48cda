// STARTTLS (RFC 6120 §5): offered on plain connections; required before authentication
// unless c2s_require_encryption is off.
import { x } from "../xml/element.js";
import type { Server } from "../core/server.js";
import { defineFeature } from "../core/feature.js";

const NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls";

export default defineFeature({ name: "starttls", setup: starttls });

function starttls(server: Server): void {
  server.bus.on(
    "stream-features",
    ({ session, features }) => {
      if (session.authenticated || !session.transport.canStartTls()) return;
      features.cnode(x("starttls", { xmlns: NS_TLS }, server.config.c2s_require_encryption ? x("required") : undefined));
    },
    "high",
  );

  server.bus.on(`nonza/${NS_TLS}:starttls`, ({ session }) => {
    if (!session.transport.canStartTls() || session.authenticated) {
      session.sendRaw(`<failure xmlns='${NS_TLS}'/>`);
      session.close();
      return true;
    }
    session.sendRaw(`<proceed xmlns='${NS_TLS}'/>`);
    session.restartStream();
    session.transport.startTls((err) => {
      if (err) {
        session.log.debug({ err: err.message }, "STARTTLS handshake failed");
        session.transport.destroy();
      }
    });
    return true;
  });
}
