// FAST (XEP-0484): a client that logged in once with its password gets a token and reconnects
// with one HMAC round trip instead. Tokens are tokens of a "fast" grant per (account, client
// id), in the two slots of the XEP's implementation notes: a new token sits in "new" until its
// first use moves it to "cur", so a token lost in transit never locks the client out.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { x, type Element } from "../xml/element.js";
import { saslFailures } from "../core/errors.js";
import type { Server } from "../core/server.js";
import type { Session } from "../core/session.js";
import type { SaslSession, SaslStep, ChannelBindingType } from "./mechanism.js";
import { saslContext } from "./sasl-common.js";
import { tokenHash } from "./grants.js";
import type { MechanismChoice } from "../events.js";
import type { TokenRecord } from "../storage/types.js";
import { defineFeature } from "../core/feature.js";

declare module "../core/session.js" {
  interface SessionData {
    /** This login used a FAST token: its mechanism, and whether the token is due to rotate. */
    fastAuth?: { mechanism: string; rotate: boolean };
  }
}

export const NS_FAST = "urn:xmpp:fast:0";
const TOKEN_PREFIX = "secret-token:fast-";

/** HT mechanisms (draft-schmaus-kitten-sasl-ht) and the channel binding each needs. */
const HT: Record<string, ChannelBindingType | null> = {
  "HT-SHA-256-EXPR": "tls-exporter",
  "HT-SHA-256-ENDP": "tls-server-end-point",
  "HT-SHA-256-NONE": null,
};

export function htInitiator(token: string, cb: Buffer): Buffer {
  return createHmac("sha256", token)
    .update(Buffer.concat([Buffer.from("Initiator"), cb]))
    .digest();
}
export function htResponder(token: string, cb: Buffer): Buffer {
  return createHmac("sha256", token)
    .update(Buffer.concat([Buffer.from("Responder"), cb]))
    .digest();
}

/** The HT mechanisms this stream can use, strongest first. */
export function fastMechanisms(server: Server, session: Session): string[] {
  const cb = saslContext(server, session).channelBinding;
  return Object.entries(HT)
    .filter(([, type]) => type === null || cb[type] !== undefined)
    .map(([name]) => name);
}

function cbData(server: Server, session: Session, mechanism: string): Buffer {
  const type = HT[mechanism];
  return type ? saslContext(server, session).channelBinding[type]!() : Buffer.alloc(0);
}

export default defineFeature({ name: "fast", needs: ["grants", "secrets", "loginThrottle", "access"], setup: fast });

function fast(server: Server): void {
  const ttlMs = () => server.config.sasl2_fast_token_ttl * 1000;
  const minTtlMs = () => server.config.sasl2_fast_token_min_ttl * 1000;

  server.bus.on(
    "sasl2-inline",
    ({ session, inline }) => {
      const el = inline.c("fast", { xmlns: NS_FAST });
      for (const m of fastMechanisms(server, session)) el.c("mechanism").t(m);
    },
    "fast",
  );

  /** Issues a token into the "new" slot of the client's FAST grant (replacing an unused one). */
  async function issue(session: Session, username: string, clientId: string, mechanism: string): Promise<Element> {
    const ua = session.data.userAgent ?? {};
    let grant = await server.storage.grants.findByClient(username, "fast", clientId);
    if (grant && !(await server.services.get("grants").valid(grant))) {
      await server.services.get("access").revokeGrant(username, grant.id, "expired");
      grant = undefined;
    }
    grant ??= await server.services.get("grants").create(username, "fast", { clientId, data: { software: ua.software, device: ua.device } });
    const token = TOKEN_PREFIX + randomBytes(27).toString("base64url");
    const now = Date.now();
    const hash = tokenHash(token);
    const record: TokenRecord = {
      hash,
      grantId: grant.id,
      username,
      purpose: "fast",
      slot: "new",
      mechanism,
      createdAt: now,
      expiresAt: now + ttlMs(),
      secret: server.services.get("secrets").seal(Buffer.from(token), hash),
    };
    await server.services.get("grants").addToken(record);
    return x("token", { xmlns: NS_FAST, token, expiry: new Date(record.expiresAt!).toISOString() });
  }

  server.bus.on("sasl2-select-mechanism", ({ session, request, mechanism }): MechanismChoice | undefined => {
    if (!(mechanism in HT)) return undefined;
    const fastEl = request.getChild("fast", NS_FAST);
    if (!fastEl) return { failure: saslFailures.invalidMechanism };
    const clientId = session.data.clientId;
    if (!clientId) return { failure: saslFailures.fastUnavailable };
    if (!fastMechanisms(server, session).includes(mechanism)) return { failure: saslFailures.cbUnavailable };
    return { sasl: fastSession(session, mechanism, clientId, fastEl) };
  });

  /**
   * Whether this client's FAST tokens died with the last password change (which deletes their
   * grant at once): the client was known before the change and was not revoked since. Such a
   * token gets credentials-expired, as XEP-0484 and the reference answer a token issued before
   * the password change, rather than not-authorized.
   */
  async function expiredByPasswordChange(username: string, clientId: string, passwordChangedAt: number): Promise<boolean> {
    const rec = await server.storage.clients.get(username, clientId);
    return !!rec && !rec.legacy && rec.firstSeen < passwordChangedAt && (rec.revokedAt === undefined || rec.revokedAt < passwordChangedAt);
  }

  function fastSession(session: Session, mechanism: string, clientId: string, fastEl: Element): SaslSession {
    let done = false;
    return {
      async step(data: Buffer | null): Promise<SaslStep> {
        if (done || !data) return { kind: "failure", failure: saslFailures.malformed };
        done = true;
        const nul = data.indexOf(0);
        if (nul <= 0 || data.length - nul - 1 !== 32) return { kind: "failure", failure: saslFailures.malformed };
        const username = saslContext(server, session).normaliseUsername(data.subarray(0, nul).toString("utf8"));
        if (!username) return { kind: "failure", failure: saslFailures.notAuthorized };
        // The throttle before the token, as for a password (src/auth/throttle.ts).
        if (!(await saslContext(server, session).admit(username))) return { kind: "failure", failure: saslFailures.throttled, username };
        const proof = data.subarray(nul + 1);
        const user = await server.storage.users.get(username);
        const grant = user && (await server.storage.grants.findByClient(username, "fast", clientId));
        if (!user) return { kind: "failure", failure: saslFailures.notAuthorized, username };
        if (!grant)
          return {
            kind: "failure",
            failure: (await expiredByPasswordChange(username, clientId, user.passwordChangedAt)) ? saslFailures.credentialsExpired : saslFailures.notAuthorized,
            username,
          };
        const cb = cbData(server, session, mechanism);
        const tokens = (await server.storage.grants.tokens(grant.id))
          .filter((t) => t.purpose === "fast")
          .sort((a, b) => (a.slot === "new" ? -1 : b.slot === "new" ? 1 : 0));
        let match: { t: TokenRecord; token: string } | undefined;
        for (const t of tokens) {
          const secret = t.secret && server.services.get("secrets").open(t.secret, t.hash);
          if (!secret || t.mechanism !== mechanism) continue;
          const token = secret.toString();
          if (timingSafeEqual(htInitiator(token, cb), proof)) {
            match = { t, token };
            break;
          }
        }
        if (!match) return { kind: "failure", failure: saslFailures.notAuthorized, username };
        const { t, token } = match;
        const now = Date.now();
        if ((t.expiresAt !== undefined && t.expiresAt <= now) || t.createdAt < user.passwordChangedAt) {
          await server.services.get("access").revokeToken(t, "expired");
          return { kind: "failure", failure: saslFailures.credentialsExpired, username };
        }
        if (!(await server.services.get("grants").valid(grant, now))) return { kind: "failure", failure: saslFailures.notAuthorized, username };
        const count = fastEl.attrs.count;
        if (count !== undefined) {
          // Replay protection: every use must carry a higher count than the last (XEP-0484 §4.2).
          if (!/^\d{1,15}$/.test(count) || !(await server.storage.grants.advanceCount(t.hash, Number(count)))) {
            return { kind: "failure", failure: saslFailures.replayedCount, username };
          }
        }
        const invalidate = fastEl.attrs.invalidate === "true" || fastEl.attrs.invalidate === "1";
        if (invalidate) await server.services.get("access").revokeToken(t, "invalidated");
        else if (t.slot === "new") await server.storage.grants.promoteToken(t.hash);
        // Last use is kept to the minute: a write on every reconnect is not worth its cost.
        if (now - grant.accessedAt > 60_000) await server.storage.grants.touch(username, grant.id, now);
        session.data.grantId = grant.id;
        session.data.tokenHash = invalidate ? undefined : t.hash;
        session.data.fastAuth = { mechanism, rotate: !invalidate && now - t.createdAt > minTtlMs() };
        return { kind: "success", username, additionalData: htResponder(token, cb) };
      },
    };
  }

  server.bus.on(
    "sasl2-success",
    async (ev) => {
      const clientId = ev.session.data.clientId;
      if (!clientId) return;
      const requested = ev.request.getChild("request-token", NS_FAST)?.attrs.mechanism;
      const fastAuth = ev.session.data.fastAuth;
      let mechanism: string | undefined;
      // Only a mechanism this stream advertised may be requested (the reference binds any string).
      if (requested && fastMechanisms(server, ev.session).includes(requested)) mechanism = requested;
      else if (fastAuth?.rotate) mechanism = fastAuth.mechanism;
      if (!mechanism) return;
      ev.success.cnode(await issue(ev.session, ev.username, clientId, mechanism));
    },
    "fast",
  );
}
