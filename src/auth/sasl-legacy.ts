// RFC 6120 §6 SASL: <mechanisms/> in the features, <auth/>, <challenge/>/<response/>,
// <success/> or <failure/>, then a stream restart.
import { x } from "../xml/element.js";
import { NS_SASL, saslFailures, saslFailureElement, type SaslFailureDef } from "../core/errors.js";
import type { Server } from "../core/server.js";
import type { Session } from "../core/session.js";
import type { SaslSession } from "./mechanism.js";
import { sasl2Failure } from "./sasl2.js";
import { decodeBase64, encodeBase64, offeredMechanisms, runSaslStep, saslContext } from "./sasl-common.js";
import { defineFeature } from "../core/feature.js";

declare module "../core/session.js" {
  interface SessionData {
    /** The RFC 6120 SASL exchange in progress. */
    saslExchange?: LegacyExchange;
  }
}

const NS_SASL_CB = "urn:xmpp:sasl-cb:0";

interface LegacyExchange {
  mechanism: string;
  sasl: SaslSession;
}

export default defineFeature({ name: "sasl", needs: ["grants", "secrets", "loginThrottle"], setup: saslLegacy });

function saslLegacy(server: Server): void {
  const throttle = server.services.get("loginThrottle");

  server.bus.on(
    "stream-features",
    ({ session, features }) => {
      if (session.authenticated) return;
      if (server.config.enforce_client_ids) return; // only SASL2 with a client id is allowed
      const offered = offeredMechanisms(server, session);
      if (offered.length === 0) return;
      const mechs = features.c("mechanisms", { xmlns: NS_SASL });
      for (const m of offered) mechs.c("mechanism").t(m.name);
      const cb = Object.keys(saslContext(server, session).channelBinding);
      if (cb.length > 0) {
        const el = features.c("sasl-channel-binding", { xmlns: NS_SASL_CB });
        for (const type of cb) el.c("channel-binding", { type });
      }
    },
    "early",
  );

  const fail = (session: Session, def: SaslFailureDef) => {
    delete session.data.saslExchange;
    session.send(saslFailureElement(def));
  };

  /** Runs one step and answers it. */
  const step = async (session: Session, ex: LegacyExchange, data: Buffer | null) => {
    const result = await runSaslStep(server, session, ex.sasl, ex.mechanism, data, false);
    if (result.kind === "closed") return;
    if (result.kind === "challenge") {
      session.send(x("challenge", { xmlns: NS_SASL }, encodeBase64(result.data) || "="));
      return;
    }
    if (result.kind === "failure") return fail(session, result.failure);
    const refused = await server.bus.fire("authentication-success", { session, username: result.username, mechanism: ex.mechanism, sasl2: false });
    if (refused) return fail(session, refused);
    delete session.data.saslExchange;
    session.send(x("success", { xmlns: NS_SASL }, encodeBase64(result.additionalData) || undefined));
    session.markAuthenticated(result.username, ex.mechanism);
    delete session.data.saslContext; // its closures would live as long as the session
    session.restartStream();
    void server.bus.emit("authenticated", { session, mechanism: ex.mechanism, sasl2: false });
  };

  server.bus.on(`nonza/${NS_SASL}:auth`, async ({ session, element }) => {
    if (session.authenticated) {
      session.close();
      return true;
    }
    if (!session.secure && server.config.c2s_require_encryption) return (fail(session, saslFailures.encryptionRequired), true);
    // The reference answers in the SASL2 namespace here; clients that check for it expect that.
    if (server.config.enforce_client_ids) return (session.send(sasl2Failure(saslFailures.legacySaslDisabled)), true);
    const name = element.attrs.mechanism ?? "";
    const mech = offeredMechanisms(server, session).find((m) => m.name === name);
    if (!mech) return (fail(session, saslFailures.invalidMechanism), true);
    const text = element.getText();
    const data = text === "" ? null : decodeBase64(text);
    if (data === undefined) return (fail(session, saslFailures.incorrectEncoding), true);
    const ip = session.ip;
    if (throttle.blocked(ip, undefined)) return (fail(session, saslFailures.throttled), true);
    const ex: LegacyExchange = { mechanism: name, sasl: mech.start(saslContext(server, session)) };
    session.data.saslExchange = ex;
    await step(session, ex, data);
    return true;
  });

  server.bus.on(`nonza/${NS_SASL}:response`, async ({ session, element }) => {
    const ex = session.data.saslExchange;
    if (!ex) return (fail(session, saslFailures.malformed), true);
    const data = decodeBase64(element.getText());
    if (data === undefined) return (fail(session, saslFailures.incorrectEncoding), true);
    await step(session, ex, data);
    return true;
  });

  server.bus.on(`nonza/${NS_SASL}:abort`, ({ session }) => {
    fail(session, saslFailures.aborted);
    return true;
  });
}
