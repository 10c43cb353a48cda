// In-band registration before authentication (XEP-0077 §3.1) and its invitation form
// (XEP-0445 §4, with XEP-0401's tokens): after TLS and before SASL, a client may ask for the
// registration form and send it back. Anyone may when allow_registration is on; otherwise only
// a client that first sent a valid invitation token (<preauth xmlns='urn:xmpp:pars:0'/>), which
// this stream then remembers: its expiry is judged when it is presented, not when it is used.
import type { Server } from "../../core/server.js";
import type { Session } from "../../core/session.js";
import { defineFeature, type Stop } from "../../core/feature.js";
import { stanzaErrors, streamErrors, type StanzaErrorDef } from "../../core/errors.js";
import { errorReply, iqResult } from "../../core/router.js";
import { x, type Element } from "../../xml/element.js";
import { findInvite } from "../../auth/invites.js";
import { Registrar, type AcceptedInvite } from "./registrar.js";

declare module "../../core/session.js" {
  interface SessionData {
    /** The invitation this stream presented (XEP-0445 §4), until it registers with it. */
    preauth?: AcceptedInvite;
    /** Registration IQs this stream sent before authenticating. */
    registrationIqs?: number;
  }
}

export const NS_REGISTER = "jabber:iq:register";
const NS_REGISTER_FEATURE = "http://jabber.org/features/iq-register";
const NS_IBR_TOKEN = "urn:xmpp:ibr-token:0";
const NS_PARS = "urn:xmpp:pars:0";
/** Most remembered open-registration IPs (min_seconds_between_registrations); the oldest go first. */
const MAX_IPS = 100_000;
/** Registration IQs one stream may send before authenticating (form, token, tries). */
const MAX_IQS = 20;

export default defineFeature({ name: "register", needs: ["access", "rateLimits", "expiringStores"], provides: ["registration"], setup: register });

function register(server: Server): Stop {
  const registrar = new Registrar(server, server.services.get("expiringStores").open("registration-ip", MAX_IPS));
  server.services.provide("registration", registrar);
  // Expired invitations are kept a day (to tell "expired" from "unknown"), then deleted.
  const purger = setInterval(() => {
    server.storage.invites.purge(Date.now() - 86400_000).catch((err: unknown) => server.log.error({ err }, "invitation clean-up failed"));
  }, 3600_000);
  purger.unref();
  const domain = server.config.domain;

  server.bus.on("stream-features", ({ session, features }) => {
    if (session.authenticated || !session.secure) return;
    // Invitations are always accepted; the form itself is offered only when it is open to all.
    features.c("register", { xmlns: NS_IBR_TOKEN });
    if (registrar.open) features.c("register", { xmlns: NS_REGISTER_FEATURE });
  });

  // Both answer the IQ and say it was handled.
  const reply = (session: Session, iq: Element, payload?: Element): true => {
    session.send(iqResult(iq, payload));
    return true;
  };
  const fail = (session: Session, iq: Element, def: StanzaErrorDef, text?: string): true => {
    session.send(errorReply(iq, def, domain, text));
    return true;
  };

  server.bus.on("iq/unauthenticated", async ({ session, element }) => {
    // The client has no address yet: whatever it put in 'from' is not answered to.
    delete element.attrs.from;
    const type = element.attrs.type;
    const payload = element.elements()[0];
    const isPreauth = payload?.is("preauth", NS_PARS) === true;
    // Anything but registration ends the stream as before authentication it always did.
    if (!payload || (!isPreauth && !payload.is("query", NS_REGISTER)) || (type !== "get" && type !== "set")) return undefined;
    if (!element.attrs.id) return undefined;
    // A stream has no business asking more than a few times: token guessing ends here.
    session.data.registrationIqs = (session.data.registrationIqs ?? 0) + 1;
    if (session.data.registrationIqs > MAX_IQS) {
      session.close(streamErrors.policyViolation);
      return true;
    }
    if (element.elements().length !== 1 || (isPreauth && type !== "set")) return fail(session, element, stanzaErrors.badRequest);
    if (!session.secure) return fail(session, element, stanzaErrors.registrationNeedsTls);
    if (isPreauth) {
      const found = await findInvite(server.storage, payload.attrs.token);
      if (!found.ok) return fail(session, element, stanzaErrors.inviteInvalid);
      session.data.preauth = { invite: found.invite, acceptedAt: Date.now() };
      return reply(session, element);
    }
    const invite = session.data.preauth;
    if (!invite && !registrar.open) return fail(session, element, stanzaErrors.registrationClosed);
    if (type === "get") {
      const fixed = invite?.invite.kind === "reset" ? invite.invite.username : undefined;
      const form = x(
        "query",
        { xmlns: NS_REGISTER },
        x("instructions", null, fixed ? `Choose a new password for ${fixed}@${domain}.` : `Choose a username and password for use with this service.`),
        x("username", null, fixed),
        x("password"),
      );
      return reply(session, element, form);
    }
    if (payload.getChild("remove")) return fail(session, element, stanzaErrors.notAllowed, "Sign in to remove an account");
    const result = await registrar.register({
      username: payload.getChildText("username"),
      password: payload.getChildText("password"),
      ip: session.ip,
      via: "xmpp",
      ...(invite ? { invite } : {}),
    });
    if (!result.ok) return fail(session, element, result.error, result.text);
    delete session.data.preauth;
    return reply(session, element);
  });
  return () => clearInterval(purger);
}
