// Unit checks of the OAuth pieces that are pure functions: the OAUTHBEARER message parser
// (RFC 7628), the mechanism's exchange, registration validation (RFC 7591 with the
// reference's rules), signed values, and scopes.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseOAuthBearer, oauthBearerMechanism } from "../../src/auth/mechanisms/oauthbearer.js";
import { validateRegistration, checkRedirectUri, registerClient, lookupClient } from "../../src/http/oauth/clients.js";
import { OAuthKeys } from "../../src/http/oauth/keys.js";
import { knownScopes, roleOf } from "../../src/auth/oauth-tokens.js";
import { normaliseUserCode, formatUserCode, newUserCode } from "../../src/http/oauth/state.js";
import { normaliseLocal } from "../../src/core/jid.js";
import type { SaslContext } from "../../src/auth/mechanism.js";

const T = "secret-token:abcDEF012_-";

describe("OAUTHBEARER messages (RFC 7628)", () => {
  it("parses the GS2 header, authzid and auth pair", () => {
    assert.deepEqual(parseOAuthBearer(`n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=Bearer ${T}\x01\x01`), {
      authzid: "user@example.com",
      token: T,
    });
    assert.deepEqual(parseOAuthBearer(`n,,\x01auth=Bearer ${T}\x01\x01`), { authzid: "", token: T });
    assert.deepEqual(parseOAuthBearer(`y,,\x01auth=bearer ${T}\x01\x01`), { authzid: "", token: T });
    assert.deepEqual(parseOAuthBearer(`n,a=a=2Cb=3Dc@x,\x01auth=Bearer ${T}\x01\x01`), { authzid: "a,b=c@x", token: T });
  });
  it("refuses malformed messages", () => {
    for (const bad of [
      `p=tls-unique,,\x01auth=Bearer ${T}\x01\x01`, // no channel binding in OAUTHBEARER
      `n,,auth=Bearer ${T}\x01\x01`, // no kvsep after the header
      `n,,\x01auth=Bearer ${T}\x01`, // no final kvsep
      `n,,\x01\x01`, // no auth
      `n,,\x01auth=Basic abc\x01\x01`,
      `n,,\x01auth=Bearer \x01\x01`,
      `n,,\x01auth=Bearer a b\x01\x01`,
      `n,,\x01auth=Bearer ${T}\x01auth=Bearer ${T}\x01\x01`, // repeated key
      `n,,\x01=x\x01auth=Bearer ${T}\x01\x01`,
      `n,a=bad=41,\x01auth=Bearer ${T}\x01\x01`, // bad saslname escape
      `n,a=,\x01auth=Bearer ${T}\x01\x01`,
    ])
      assert.equal(parseOAuthBearer(bad), undefined, JSON.stringify(bad));
  });

  const ctx = (valid: boolean, secure = true): SaslContext => ({
    secure,
    channelBinding: {},
    plusAdvertised: false,
    getUser: async () => undefined,
    normaliseUsername: (raw) => normaliseLocal(raw),
    verifyBearer: async (t) => (valid && t === T ? { username: "juliet" } : undefined),
    oauthMetadataUrl: () => "https://example.com/.well-known/oauth-authorization-server",
    scramIterations: 4096,
    admit: async () => true,
    throttled: () => false,
  });

  it("succeeds with a valid token, checking the authzid", async () => {
    const ok = await oauthBearerMechanism.start(ctx(true)).step(Buffer.from(`n,a=juliet@example.com,\x01auth=Bearer ${T}\x01\x01`));
    assert.deepEqual(ok, { kind: "success", username: "juliet", authzid: "juliet@example.com" });
    const other = await oauthBearerMechanism.start(ctx(true)).step(Buffer.from(`n,a=romeo@example.com,\x01auth=Bearer ${T}\x01\x01`));
    assert.equal(other.kind === "failure" && other.failure.condition, "invalid-authzid");
  });

  it("a bad token: the JSON error challenge, then not-authorized whatever the client answers", async () => {
    const s = oauthBearerMechanism.start(ctx(false));
    const ch = await s.step(Buffer.from(`n,,\x01auth=Bearer ${T}\x01\x01`));
    assert.equal(ch.kind, "challenge");
    assert.deepEqual(JSON.parse((ch as { data: Buffer }).data.toString()), {
      status: "invalid_token",
      scope: "xmpp",
      "openid-configuration": "https://example.com/.well-known/oauth-authorization-server",
    });
    const end = await s.step(Buffer.from("\x01"));
    assert.equal(end.kind === "failure" && end.failure.condition, "not-authorized");
  });

  it("only over TLS, and only when tokens can be checked", () => {
    assert.equal(oauthBearerMechanism.available(ctx(true)), true);
    assert.equal(oauthBearerMechanism.available(ctx(true, false)), false);
    assert.equal(oauthBearerMechanism.available({ ...ctx(true), verifyBearer: undefined }), false);
  });
});

describe("client registration", () => {
  const base = { client_name: "App", client_uri: "https://app.example.org/", redirect_uris: ["https://app.example.org/cb"] };

  it("applies the defaults and drops unknown metadata", () => {
    const m = validateRegistration({ ...base, jwks: {}, "client_name#fr": "Appli", scope: "xmpp bogus offline_access" }, 1_000_000);
    assert.deepEqual(m, {
      client_name: "App",
      client_uri: "https://app.example.org/",
      application_type: "web",
      redirect_uris: ["https://app.example.org/cb"],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
      scope: "xmpp offline_access",
      iat: 1000,
    });
  });

  it("redirect URI rules for web and native apps", () => {
    const ok: Array<[string, "web" | "native"]> = [
      ["https://app.example.org/cb?x=1", "web"],
      ["http://127.0.0.1/cb", "native"],
      ["http://[::1]:8080/cb", "native"],
      ["http://localhost/cb", "native"],
      ["com.example.app:/oauth", "native"],
      ["urn:ietf:wg:oauth:2.0:oob", "native"],
    ];
    for (const [u, t] of ok) assert.doesNotThrow(() => checkRedirectUri(u, t, "app.example.org"), u);
    const bad: Array<[string, "web" | "native"]> = [
      ["http://app.example.org/cb", "web"],
      ["https://other.example.org/cb", "web"],
      ["https://app.example.org/cb#f", "web"],
      ["https://user:pw@app.example.org/cb", "web"],
      ["urn:ietf:wg:oauth:2.0:oob", "web"],
      ["myapp:/cb", "native"],
      ["com.example.app://host/cb", "native"],
      ["http://192.168.1.2/cb", "native"],
      ["not a uri", "native"],
    ];
    for (const [u, t] of bad)
      assert.throws(() => checkRedirectUri(u, t, "app.example.org"), /redirect|fragment|credentials|scheme|absolute|loopback|authority/, u);
  });

  it("client ids are signed metadata; a changed id is unknown", () => {
    const keys = OAuthKeys.open(mkdtempSync(join(tmpdir(), "warden-oauth-")));
    const reg = registerClient(keys, validateRegistration(base));
    const id = reg.client_id as string;
    assert.equal(lookupClient(keys, id)?.meta.client_name, "App");
    assert.equal(typeof reg.client_secret, "string");
    assert.equal(lookupClient(keys, id.slice(0, -1) + (id.endsWith("A") ? "B" : "A")), undefined);
    const [body, mac] = id.split(".");
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body!, "base64url").toString()), client_name: "Evil" })).toString("base64url");
    assert.equal(lookupClient(keys, `${forged}.${mac}`), undefined);
  });
});

describe("scopes and user codes", () => {
  it("known scopes, in a stable order; the role they give", () => {
    assert.deepEqual(knownScopes("offline_access  xmpp openid xmpp"), ["xmpp", "offline_access"]);
    assert.equal(roleOf(["offline_access"]), undefined);
    assert.equal(roleOf(["xmpp:user", "offline_access"]), "xmpp:user");
  });
  it("user codes: 8 consonants, typed in any case with any separator", () => {
    const c = newUserCode();
    assert.match(c, /^[BCDFGHJKLMNPQRSTVWXZ]{8}$/);
    assert.equal(normaliseUserCode(formatUserCode(c).toLowerCase().replace("-", " - ")), c);
  });
});
