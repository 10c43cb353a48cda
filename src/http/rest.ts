// A small REST API for apps that do not speak XMPP, used with an OAuth 2.0 bearer token
// (RFC 6750, Authorization header only), after the reference's REST module:
//   GET  /rest/roster    → {"items": [{"jid", "name"?, "subscription", "ask"?, "groups"}]}
//   POST /rest/message   {"to", "body", "type"? (chat|normal|headline), "id"?} (JSON or form)
//                        → 202 {"id"}; the message is routed from the account's bare JID.
// Every request checks the token against the grant store, so a revoked grant or a password
// change stops the next request.
import { randomBytes } from "node:crypto";
import type { Server } from "../core/server.js";
import { HttpError, sendJson, type HttpRequest } from "./server.js";
import { httpErrors } from "../core/errors.js";
import { roleOf, verifyBearer, type BearerInfo, TOKEN_RE } from "../auth/oauth-tokens.js";
import { parseJid } from "../core/jid.js";
import { x } from "../xml/element.js";
import { defineFeature } from "../core/feature.js";

const ID_RE = /^[A-Za-z0-9_.:-]{1,64}$/;
const MESSAGE_TYPES = ["chat", "normal", "headline"];

export default defineFeature({ name: "rest", needs: ["http", "grants", "loginThrottle"], setup: rest });

function rest(server: Server): void {
  const realm = server.config.domain;

  async function authenticate(req: HttpRequest): Promise<BearerInfo> {
    const header = req.header("authorization");
    const m = header === undefined ? null : /^Bearer +(\S+)$/i.exec(header.trim());
    if (!m) throw new HttpError(httpErrors.bearerRequired(realm));
    const info = TOKEN_RE.test(m[1]!) ? await verifyBearer(server, m[1]!) : undefined;
    if (!info) throw new HttpError(httpErrors.bearerInvalid(realm));
    if (!roleOf(info.scopes)) throw new HttpError(httpErrors.bearerScope(realm));
    return info;
  }

  server.services.get("http").route(
    "GET",
    "/rest/roster",
    async (req) => {
      const { username } = await authenticate(req);
      const items = (await server.storage.roster.get(username)).map((i) => {
        const item: Record<string, unknown> = { jid: i.jid, subscription: i.subscription, groups: i.groups };
        if (i.name !== undefined) item.name = i.name;
        if (i.ask) item.ask = i.ask;
        return item;
      });
      sendJson(req, 200, { items });
    },
    { cors: true },
  );

  server.services.get("http").route(
    "POST",
    "/rest/message",
    async (req) => {
      const { username } = await authenticate(req);
      const ct = (req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
      let fields: Record<string, unknown>;
      if (ct === "application/x-www-form-urlencoded") {
        const params = await req.form();
        fields = {};
        for (const k of new Set(params.keys())) {
          if (params.getAll(k).length > 1) throw new HttpError(httpErrors.repeatedParameter(k));
          fields[k] = params.get(k);
        }
      } else {
        const body = await req.json();
        if (body === null || typeof body !== "object" || Array.isArray(body)) throw new HttpError(httpErrors.restNotObject);
        fields = body as Record<string, unknown>;
      }
      const { to, body, type = "chat", id } = fields;
      if (typeof to !== "string") throw new HttpError(httpErrors.restToRequired);
      const toJid = parseJid(to);
      if (!toJid || !toJid.local) throw new HttpError(httpErrors.restToInvalid);
      if (toJid.domain !== server.config.domain) throw new HttpError(httpErrors.restToRemote);
      if (typeof body !== "string" || body === "") throw new HttpError(httpErrors.restBodyRequired);
      if (body.length > server.config.c2s_stanza_size_limit) throw new HttpError(httpErrors.restBodyTooLong);
      if (typeof type !== "string" || !MESSAGE_TYPES.includes(type)) throw new HttpError(httpErrors.restType(MESSAGE_TYPES));
      if (id !== undefined && (typeof id !== "string" || !ID_RE.test(id))) throw new HttpError(httpErrors.restId);
      const stanzaId = id ?? randomBytes(9).toString("base64url");
      const from = parseJid(`${username}@${server.config.domain}`)!;
      const stanza = x("message", { from: from.toString(), to: toJid.toString(), type, id: stanzaId }, x("body", null, body));
      await server.router.route(stanza, from, toJid);
      sendJson(req, 202, { id: stanzaId });
    },
    { cors: true },
  );
}
