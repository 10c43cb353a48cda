// SASL2 (XEP-0388): <authentication> in the features with the inline features of other
// modules, <authenticate> with <user-agent>, challenges, and a <success> built by a pipeline
// of bus handlers (SM resume 110, Bind2 100, FAST 75, client tracking 0). No stream restart.
import { x, Element } from "../xml/element.js";
import { NS_SASL, saslFailures, type SaslFailureDef } from "../core/errors.js";
import type { Server } from "../core/server.js";
import type { Session } from "../core/session.js";
import type { SaslSession } from "./mechanism.js";
import type { Sasl2SuccessEvent, UserAgent } from "../events.js";
import { decodeBase64, encodeBase64, offeredMechanisms, runSaslStep, saslContext } from "./sasl-common.js";
import { defineFeature } from "../core/feature.js";

declare module "../core/session.js" {
  interface SessionData {
    /** The SASL2 exchange in progress. */
    sasl2?: Sasl2Exchange;
    /** What the client said of itself (<user-agent>). */
    userAgent?: UserAgent;
    /** Its <user-agent id>: the client id of client management and FAST. */
    clientId?: string;
  }
}

export const NS_SASL2 = "urn:xmpp:sasl:2";
const MAX_CLIENT_ID = 256;
const MAX_UA_TEXT = 256;

interface Sasl2Exchange {
  mechanism: string;
  sasl: SaslSession;
  request: Element;
}

export function sasl2Failure(def: SaslFailureDef, text?: string): Element {
  const el = new Element("failure", { xmlns: NS_SASL2 });
  el.c(def.condition, { xmlns: NS_SASL });
  const t = text ?? def.text;
  if (t) el.c("text").t(t);
  return el;
}

function parseUserAgent(el: Element | undefined): UserAgent | "invalid" {
  if (!el) return {};
  const ua: UserAgent = {};
  const id = el.attrs.id;
  if (id !== undefined) {
    if (id.length === 0 || id.length > MAX_CLIENT_ID) return "invalid";
    ua.id = id;
  }
  const software = el.getChildText("software");
  const device = el.getChildText("device");
  if ((software?.length ?? 0) > MAX_UA_TEXT || (device?.length ?? 0) > MAX_UA_TEXT) return "invalid";
  if (software) ua.software = software;
  if (device) ua.device = device;
  return ua;
}

export default defineFeature({ name: "sasl2", needs: ["grants", "secrets", "loginThrottle"], setup: sasl2 });

function sasl2(server: Server): void {
  const throttle = server.services.get("loginThrottle");

  server.bus.on(
    "stream-features",
    async ({ session, features }) => {
      if (session.authenticated) return;
      if (!session.secure && server.config.c2s_require_encryption) return;
      const auth = features.c("authentication", { xmlns: NS_SASL2 });
      for (const m of offeredMechanisms(server, session)) auth.c("mechanism").t(m.name);
      const inline = auth.c("inline");
      await server.bus.emit("sasl2-inline", { session, inline }, (err) => session.log.error({ err }, "sasl2-inline handler failed"));
    },
    "sasl2",
  );

  const fail = (session: Session, def: SaslFailureDef, text?: string) => {
    delete session.data.sasl2;
    session.send(sasl2Failure(def, text));
  };

  const succeed = async (session: Session, ex: Sasl2Exchange, username: string, additionalData: Buffer | undefined) => {
    const refused = await server.bus.fire("authentication-success", { session, username, mechanism: ex.mechanism, sasl2: true, request: ex.request });
    if (session.closed) return;
    if (refused) return fail(session, refused);
    delete session.data.sasl2;
    session.markAuthenticated(username, ex.mechanism);
    const success = x("success", { xmlns: NS_SASL2 });
    if (additionalData && additionalData.length > 0) success.c("additional-data").t(additionalData.toString("base64"));
    const ev: Sasl2SuccessEvent = { session, request: ex.request, success, username, mechanism: ex.mechanism, state: {} };
    // Bind2 registers the resource before <success> is written: stanzas routed to it meanwhile wait.
    session.holdOutput();
    await server.bus.emit("sasl2-success", ev, (err) => session.log.error({ err }, "sasl2-success handler failed"));
    if (session.closed) return;
    const owner = ev.state.resumed ?? session;
    success.c("authorization-identifier").t(owner.jid && (ev.state.bound || ev.state.resumed) ? owner.jid.toString() : session.bareJid);
    session.releaseOutput(success);
    await server.bus.emit("sasl2-success-sent", ev, (err) => session.log.error({ err }, "sasl2-success-sent handler failed"));
    await server.bus.emit("authenticated", { session: owner, mechanism: ex.mechanism, sasl2: true, request: ex.request });
    // No restart (XEP-0388): the features of an authenticated stream follow straight away;
    // a resumed stream continues where it was, without new features (as the reference does).
    if (!owner.closed && !ev.state.resumed) await owner.sendFeatures();
    delete session.data.saslContext; // its closures would live as long as the session
  };

  const step = async (session: Session, ex: Sasl2Exchange, data: Buffer | null) => {
    const result = await runSaslStep(server, session, ex.sasl, ex.mechanism, data, true);
    if (result.kind === "closed") return;
    if (result.kind === "challenge") {
      session.send(x("challenge", { xmlns: NS_SASL2 }, encodeBase64(result.data)));
      return;
    }
    if (result.kind === "failure") return fail(session, result.failure);
    await succeed(session, ex, result.username, result.additionalData);
  };

  server.bus.on(`nonza/${NS_SASL2}:authenticate`, async ({ session, element }) => {
    if (session.authenticated) {
      session.close();
      return true;
    }
    if (!session.secure && server.config.c2s_require_encryption) return (fail(session, saslFailures.encryptionRequired), true);
    const name = element.attrs.mechanism;
    if (!name) return (fail(session, saslFailures.malformed, "Missing mechanism"), true);
    const children = element.elements();
    const irIndex = children.findIndex((c) => c.name === "initial-response");
    if (irIndex > 0 || children.filter((c) => c.name === "initial-response").length > 1)
      return (fail(session, saslFailures.malformed, "initial-response must come first"), true);
    const ua = parseUserAgent(element.getChild("user-agent", NS_SASL2));
    if (ua === "invalid") return (fail(session, saslFailures.malformed, "Invalid user-agent"), true);
    if (server.config.enforce_client_ids && !ua.id) return (fail(session, saslFailures.clientIdRequired), true);
    session.data.userAgent = ua;
    session.data.clientId = ua.id;
    const ip = session.ip;
    if (throttle.blocked(ip, undefined)) return (fail(session, saslFailures.throttled), true);

    let sasl: SaslSession | undefined;
    const choice = await server.bus.fire("sasl2-select-mechanism", { session, request: element, mechanism: name, userAgent: ua });
    if (choice && "failure" in choice) return (fail(session, choice.failure), true);
    if (choice) sasl = choice.sasl;
    else {
      const mech = offeredMechanisms(server, session).find((m) => m.name === name);
      if (!mech) return (fail(session, saslFailures.invalidMechanism), true);
      sasl = mech.start(saslContext(server, session));
    }
    const irEl = children[irIndex];
    let data: Buffer | null = null;
    if (irEl) {
      const d = decodeBase64(irEl.getText());
      if (d === undefined) return (fail(session, saslFailures.incorrectEncoding), true);
      data = d;
    }
    const ex: Sasl2Exchange = { mechanism: name, sasl, request: element };
    session.data.sasl2 = ex;
    await step(session, ex, data);
    return true;
  });

  server.bus.on(`nonza/${NS_SASL2}:response`, async ({ session, element }) => {
    const ex = session.data.sasl2;
    if (!ex || session.authenticated) return (fail(session, saslFailures.malformed, "No authentication in progress"), true);
    const data = decodeBase64(element.getText());
    if (data === undefined) return (fail(session, saslFailures.incorrectEncoding), true);
    await step(session, ex, data);
    return true;
  });

  server.bus.on(`nonza/${NS_SASL2}:abort`, ({ session }) => {
    fail(session, saslFailures.aborted);
    return true;
  });
}
