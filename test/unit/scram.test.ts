import { strict as assert } from "node:assert";
import { createHash, createHmac, pbkdf2Sync, randomBytes, webcrypto } from "node:crypto";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import * as tls from "node:tls";
import { describe, it } from "node:test";
import * as x509 from "@peculiar/x509";
import { saslFailures } from "../../src/core/errors.js";
import { endPointHash, endPointBinding, channelBindingsFor } from "../../src/auth/channel-binding.js";
import { deriveAll, deriveScram, verifyPassword, verifyPasswordAsync } from "../../src/auth/credentials.js";
import type { SaslContext, SaslSession, SaslStep } from "../../src/auth/mechanism.js";
import { findMechanism, mechanisms } from "../../src/auth/mechanisms/index.js";
import { plainMechanism } from "../../src/auth/mechanisms/plain.js";
import { scramMechanism } from "../../src/auth/mechanisms/scram.js";
import { preparePassword, saslprep } from "../../src/auth/saslprep.js";
import type { ScramCredential, UserRecord } from "../../src/storage/types.js";

type Hash = "SHA-1" | "SHA-256";
const dig = (hash: Hash) => (hash === "SHA-1" ? "sha1" : "sha256");
const b64 = (s: string) => Buffer.from(s, "base64");

function ctxWith(users: Record<string, Record<string, ScramCredential>>, over: Partial<SaslContext> = {}): SaslContext {
  return {
    secure: true,
    channelBinding: {},
    plusAdvertised: false,
    scramIterations: 4096,
    admit: async () => true,
    throttled: () => false,
    getUser: async (u) => (users[u] ? { username: u, scram: users[u], passwordChangedAt: 0, createdAt: 0 } : undefined),
    normaliseUsername: (raw) => (raw === "" || /[@/\s"&'<>:]/.test(raw) ? undefined : raw.toLowerCase()),
    ...over,
  };
}

const text = (step: SaslStep) => {
  assert.equal(step.kind, "challenge", JSON.stringify(step));
  return (step as { data: Buffer }).data.toString();
};

function assertFailure(step: SaslStep, failure: object, username?: string) {
  assert.equal(step.kind, "failure", JSON.stringify(step));
  assert.deepEqual(step.failure, failure);
  assert.equal(step.username, username);
}

/** A client-side SCRAM, independent of the server code. */
async function scramClient(
  session: SaslSession,
  hash: Hash,
  o: { user: string; password: string; gs2?: string; cbData?: Buffer; cbGs2?: string; badNonce?: boolean },
): Promise<SaslStep> {
  const gs2 = o.gs2 ?? "n,,";
  const cnonce = randomBytes(12).toString("base64");
  const bare = `n=${o.user},r=${cnonce}`;
  const serverFirst = text(await session.step(Buffer.from(gs2 + bare)));
  const attrs = Object.fromEntries(serverFirst.split(",").map((kv) => [kv[0]!, kv.slice(2)] as const));
  assert.ok(attrs.r!.startsWith(cnonce));
  assert.ok(b64(attrs.r!.slice(cnonce.length)).length >= 18);
  const salted = pbkdf2Sync(o.password, b64(attrs.s!), Number(attrs.i), hash === "SHA-1" ? 20 : 32, dig(hash));
  const clientKey = createHmac(dig(hash), salted).update("Client Key").digest();
  const storedKey = createHash(dig(hash)).update(clientKey).digest();
  const c = Buffer.concat([Buffer.from(o.cbGs2 ?? gs2), o.cbData ?? Buffer.alloc(0)]).toString("base64");
  const withoutProof = `c=${c},r=${o.badNonce ? cnonce + "x" : attrs.r}`;
  const authMessage = `${bare},${serverFirst},${withoutProof}`;
  const sig = createHmac(dig(hash), storedKey).update(authMessage).digest();
  const proof = Buffer.from(clientKey.map((b, i) => b ^ sig[i]!));
  const result = await session.step(Buffer.from(`${withoutProof},p=${proof.toString("base64")}`));
  if (result.kind === "success") {
    const serverKey = createHmac(dig(hash), salted).update("Server Key").digest();
    const expected = createHmac(dig(hash), serverKey).update(authMessage).digest().toString("base64");
    assert.equal(result.additionalData?.toString(), `v=${expected}`);
  }
  return result;
}

const alice = deriveAll("correct horse", 4096);
const users = { alice };

describe("SCRAM test vectors", () => {
  it("RFC 5802 §5 SCRAM-SHA-1", async () => {
    const ctx = ctxWith({ user: { "SHA-1": deriveScram("pencil", "SHA-1", 4096, b64("QSXCR+Q6sek8bf92")) } });
    const s = scramMechanism("SHA-1", false, { nonce: () => "3rfcNHYJY1ZVvWVs7j" }).start(ctx);
    const first = await s.step(Buffer.from("n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL"));
    assert.equal(text(first), "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096");
    const final = await s.step(Buffer.from("c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="));
    assert.equal(final.kind, "success");
    assert.equal((final as { username: string }).username, "user");
    assert.equal((final as { additionalData: Buffer }).additionalData.toString(), "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=");
  });

  it("RFC 7677 §3 SCRAM-SHA-256", async () => {
    const ctx = ctxWith({ user: { "SHA-256": deriveScram("pencil", "SHA-256", 4096, b64("W22ZaJ0SNY7soEsUEjb6gQ==")) } });
    const s = scramMechanism("SHA-256", false, { nonce: () => "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0" }).start(ctx);
    const first = await s.step(Buffer.from("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"));
    assert.equal(text(first), "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
    const final = await s.step(Buffer.from("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="));
    assert.equal(final.kind, "success");
    assert.equal((final as { additionalData: Buffer }).additionalData.toString(), "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
  });
});

describe("SCRAM exchanges", () => {
  const cb = randomBytes(32);
  const plusCtx = () => ctxWith(users, { plusAdvertised: true, channelBinding: { "tls-exporter": () => cb } });

  it("SCRAM-SHA-256-PLUS with tls-exporter succeeds", async () => {
    const s = findMechanism("SCRAM-SHA-256-PLUS")!.start(plusCtx());
    const r = await scramClient(s, "SHA-256", { user: "alice", password: "correct horse", gs2: "p=tls-exporter,,", cbData: cb });
    assert.equal(r.kind, "success");
    assert.equal((r as { username: string }).username, "alice");
  });

  it("SCRAM-SHA-1 without binding succeeds; username is normalised", async () => {
    const s = findMechanism("SCRAM-SHA-1")!.start(ctxWith(users));
    const r = await scramClient(s, "SHA-1", { user: "Alice", password: "correct horse" });
    assert.equal(r.kind, "success");
    assert.equal((r as { username: string }).username, "alice");
  });

  it("channel binding data mismatch fails", async () => {
    const s = findMechanism("SCRAM-SHA-256-PLUS")!.start(plusCtx());
    const r = await scramClient(s, "SHA-256", { user: "alice", password: "correct horse", gs2: "p=tls-exporter,,", cbData: randomBytes(32) });
    assertFailure(r, saslFailures.cbMismatch, "alice");
  });

  it("c= must carry the same gs2 header", async () => {
    const s = findMechanism("SCRAM-SHA-256")!.start(ctxWith(users));
    const r = await scramClient(s, "SHA-256", { user: "alice", password: "correct horse", gs2: "y,,", cbGs2: "n,," });
    assertFailure(r, saslFailures.cbMismatch, "alice");
  });

  it("y flag is a downgrade when -PLUS was offered, fine otherwise", async () => {
    const s1 = findMechanism("SCRAM-SHA-256")!.start(plusCtx());
    assertFailure(await s1.step(Buffer.from("y,,n=alice,r=abcdef")), saslFailures.cbDowngrade);
    const s2 = findMechanism("SCRAM-SHA-256")!.start(ctxWith(users));
    assert.equal((await scramClient(s2, "SHA-256", { user: "alice", password: "correct horse", gs2: "y,," })).kind, "success");
  });

  it("unsupported binding types are refused with the exact text", async () => {
    const s = findMechanism("SCRAM-SHA-256-PLUS")!.start(plusCtx());
    const r = await s.step(Buffer.from("p=tls-unique,,n=alice,r=abcdef"));
    assertFailure(r, saslFailures.cbUnsupported);
    assert.equal((r as { failure: { text: string } }).failure.text, "Proposed channel binding type isn't supported.");
    for (const name of ["constructor", "tls-server-end-point", "x"]) {
      assertFailure(
        await findMechanism("SCRAM-SHA-1-PLUS")!
          .start(plusCtx())
          .step(Buffer.from(`p=${name},,n=alice,r=abcdef`)),
        saslFailures.cbUnsupported,
      );
    }
  });

  it("p= on a non-PLUS mechanism, and no p= on a PLUS one, are malformed", async () => {
    assertFailure(await findMechanism("SCRAM-SHA-256")!.start(plusCtx()).step(Buffer.from("p=tls-exporter,,n=alice,r=abc")), saslFailures.malformed);
    assertFailure(await findMechanism("SCRAM-SHA-256-PLUS")!.start(plusCtx()).step(Buffer.from("n,,n=alice,r=abc")), saslFailures.malformed);
    assertFailure(await findMechanism("SCRAM-SHA-256-PLUS")!.start(plusCtx()).step(Buffer.from("y,,n=alice,r=abc")), saslFailures.malformed);
  });

  it("wrong password and unknown user fail alike", async () => {
    const wrong = await scramClient(findMechanism("SCRAM-SHA-256")!.start(ctxWith(users)), "SHA-256", { user: "alice", password: "nope" });
    assertFailure(wrong, saslFailures.notAuthorized, "alice");
    const unknown = await scramClient(findMechanism("SCRAM-SHA-256")!.start(ctxWith(users)), "SHA-256", { user: "mallory", password: "x" });
    assertFailure(unknown, saslFailures.notAuthorized, "mallory");
  });

  it("an unknown user gets a stable, plausible salt", async () => {
    const first = async () => text(await findMechanism("SCRAM-SHA-1")!.start(ctxWith(users)).step(Buffer.from("n,,n=mallory,r=abc")));
    const [a, b] = [await first(), await first()];
    const salt = (m: string) => m.split(",").slice(1).join(",");
    assert.equal(salt(a), salt(b));
    assert.match(salt(a), /^s=[A-Za-z0-9+/]{22}==,i=4096$/);
    const other = text(await findMechanism("SCRAM-SHA-256")!.start(ctxWith(users)).step(Buffer.from("n,,n=mallory,r=abc")));
    assert.notEqual(salt(other), salt(a));
  });

  it("nonce must be echoed exactly", async () => {
    const r = await scramClient(findMechanism("SCRAM-SHA-256")!.start(ctxWith(users)), "SHA-256", { user: "alice", password: "correct horse", badNonce: true });
    assertFailure(r, saslFailures.notAuthorized, "alice");
  });

  it("authzid: own bare JID or username allowed, others refused", async () => {
    const ok = await scramClient(findMechanism("SCRAM-SHA-256")!.start(ctxWith(users)), "SHA-256", {
      user: "alice",
      password: "correct horse",
      gs2: "n,a=alice@example.com,",
    });
    assert.equal(ok.kind, "success");
    assert.equal((ok as { authzid?: string }).authzid, "alice@example.com");
    const same = await scramClient(findMechanism("SCRAM-SHA-256")!.start(ctxWith(users)), "SHA-256", {
      user: "alice",
      password: "correct horse",
      gs2: "n,a=alice,",
    });
    assert.equal(same.kind, "success");
    assert.equal((same as { authzid?: string }).authzid, undefined);
    for (const az of ["bob@example.com", "bob", "alice@example.com/res", "alice@"]) {
      assertFailure(
        await findMechanism("SCRAM-SHA-256")!
          .start(ctxWith(users))
          .step(Buffer.from(`n,a=${az},n=alice,r=abc`)),
        saslFailures.invalidAuthzid,
        "alice",
      );
    }
  });

  it("escaped usernames are unescaped before normalisation", async () => {
    const ctx = ctxWith({ "a,b=c": alice }, { normaliseUsername: (raw) => raw });
    const r = await scramClient(findMechanism("SCRAM-SHA-256")!.start(ctx), "SHA-256", { user: "a=2Cb=3Dc", password: "correct horse" });
    assert.equal(r.kind, "success");
    assert.equal((r as { username: string }).username, "a,b=c");
  });

  it("invalid usernames fail without a username", async () => {
    assertFailure(await findMechanism("SCRAM-SHA-256")!.start(ctxWith(users)).step(Buffer.from("n,,n=a b,r=abc")), saslFailures.notAuthorized);
    assertFailure(await findMechanism("SCRAM-SHA-256")!.start(ctxWith(users)).step(Buffer.from("n,,n=a\u0007,r=abc")), saslFailures.notAuthorized);
  });

  it("garbage never throws and is malformed", async () => {
    const inputs = [
      "",
      "n,,",
      "n,,n=alice",
      "m=x,n=alice,r=abc",
      "n,,m=ext,n=alice,r=abc",
      "x,,n=alice,r=abc",
      "n,b=x,n=alice,r=abc",
      "n,,n=al=41ice,r=abc",
      "n,,n=alice,r=",
      "n,,n=alice,r=a b",
      "n,,n=alice,r=abc,1bad",
      "n,a=,n=alice,r=abc",
      "p=,,n=alice,r=abc",
      "p=tls exporter,,n=alice,r=abc",
    ];
    for (const input of inputs) {
      for (const name of ["SCRAM-SHA-256", "SCRAM-SHA-1"]) {
        assertFailure(await findMechanism(name)!.start(ctxWith(users)).step(Buffer.from(input)), saslFailures.malformed);
      }
    }
    assertFailure(
      await findMechanism("SCRAM-SHA-256")!
        .start(ctxWith(users))
        .step(Buffer.from([0x6e, 0x2c, 0x2c, 0xff])),
      saslFailures.malformed,
    );
    assertFailure(await findMechanism("SCRAM-SHA-256")!.start(ctxWith(users)).step(randomBytes(64)), saslFailures.malformed);
    for (const final of [
      "",
      "garbage",
      "c=biws,r=abc",
      "c=biws,r=abc,p=!!!!",
      "c=biws,r=abc,p=AAAA",
      "r=abc,c=biws,p=AAAA",
      "c=biws,r=abc,p=" + "A".repeat(43) + "=",
    ]) {
      const s = findMechanism("SCRAM-SHA-256")!.start(ctxWith(users));
      text(await s.step(Buffer.from("n,,n=alice,r=abc")));
      const r = await s.step(Buffer.from(final));
      assert.equal(r.kind, "failure");
      assert.equal((r as { username?: string }).username, "alice");
      assert.equal((await s.step(Buffer.from("again"))).kind, "failure");
    }
  });

  it("empty initial response gets an empty challenge, once", async () => {
    const s = findMechanism("SCRAM-SHA-256")!.start(ctxWith(users));
    assert.equal(text(await s.step(null)), "");
    assert.match(text(await s.step(Buffer.from("n,,n=alice,r=abc"))), /^r=abc/);
    const s2 = findMechanism("SCRAM-SHA-256")!.start(ctxWith(users));
    await s2.step(null);
    assertFailure(await s2.step(null), saslFailures.malformed);
  });

  it("storage errors are temporary failures", async () => {
    const ctx = ctxWith(users, {
      getUser: async () => {
        throw new Error("db down");
      },
    });
    assertFailure(await findMechanism("SCRAM-SHA-256")!.start(ctx).step(Buffer.from("n,,n=alice,r=abc")), saslFailures.temporary, "alice");
  });

  it("mechanism list and availability", () => {
    assert.deepEqual(
      mechanisms.map((m) => m.name),
      ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN", "OAUTHBEARER"],
    );
    assert.equal(findMechanism("scram-sha-1"), undefined);
    const none = ctxWith(users, { secure: false });
    assert.deepEqual(
      mechanisms.filter((m) => m.available(none)).map((m) => m.name),
      ["SCRAM-SHA-256", "SCRAM-SHA-1"],
    );
    const unique = ctxWith(users, { channelBinding: { "tls-unique": () => cb } });
    assert.equal(findMechanism("SCRAM-SHA-256-PLUS")!.available(unique), false);
    const endPoint = ctxWith(users, { channelBinding: { "tls-server-end-point": () => cb } });
    assert.equal(findMechanism("SCRAM-SHA-256-PLUS")!.available(endPoint), true);
  });
});

describe("PLAIN", () => {
  const run = (ctx: SaslContext, msg: string) => plainMechanism.start(ctx).step(Buffer.from(msg));

  it("succeeds over TLS, is not offered without it", async () => {
    const r = await run(ctxWith(users), "\0Alice\0correct horse");
    assert.deepEqual(r, { kind: "success", username: "alice" });
    assert.equal(plainMechanism.available(ctxWith(users, { secure: false })), false);
    assertFailure(await run(ctxWith(users, { secure: false }), "\0alice\0correct horse"), saslFailures.encryptionRequired);
  });

  it("wrong password and unknown user fail alike", async () => {
    assertFailure(await run(ctxWith(users), "\0alice\0wrong"), saslFailures.notAuthorized, "alice");
    assertFailure(await run(ctxWith(users), "\0mallory\0wrong"), saslFailures.notAuthorized, "mallory");
    assertFailure(await run(ctxWith(users), "\0alice\0"), saslFailures.notAuthorized, "alice");
  });

  it("authzid rules", async () => {
    assert.deepEqual(await run(ctxWith(users), "alice@example.com\0alice\0correct horse"), {
      kind: "success",
      username: "alice",
      authzid: "alice@example.com",
    });
    assert.deepEqual(await run(ctxWith(users), "alice\0alice\0correct horse"), { kind: "success", username: "alice" });
    assertFailure(await run(ctxWith(users), "bob@example.com\0alice\0correct horse"), saslFailures.invalidAuthzid, "alice");
  });

  it("malformed input", async () => {
    assertFailure(await run(ctxWith(users), "alice\0correct horse"), saslFailures.malformed);
    assertFailure(await run(ctxWith(users), "\0alice\0pw\0extra"), saslFailures.malformed);
    assertFailure(await plainMechanism.start(ctxWith(users)).step(Buffer.from([0, 0x61, 0, 0xff])), saslFailures.malformed);
    assertFailure(await run(ctxWith(users), "\0\0pw"), saslFailures.notAuthorized);
    assertFailure(await run(ctxWith(users), "\0a b\0pw"), saslFailures.notAuthorized);
    const s = plainMechanism.start(ctxWith(users));
    assert.equal(text(await s.step(null)), "");
    assert.deepEqual(await s.step(Buffer.from("\0alice\0correct horse")), { kind: "success", username: "alice" });
    assertFailure(await s.step(Buffer.from("\0alice\0correct horse")), saslFailures.malformed);
  });
});

describe("credentials and saslprep", () => {
  const user = (scram: Record<string, ScramCredential>): UserRecord => ({ username: "u", scram, passwordChangedAt: 0, createdAt: 0 });

  it("verifyPassword checks SHA-256, falls back to SHA-1, applies SASLprep", async () => {
    assert.equal(verifyPassword(user(alice), "correct horse"), true);
    assert.equal(verifyPassword(user(alice), "correct horsE"), false);
    assert.equal(verifyPassword(user({ "SHA-1": alice["SHA-1"] }), "correct horse"), true);
    assert.equal(verifyPassword(user({}), "correct horse"), false);
    assert.equal(await verifyPasswordAsync(user(alice), "correct horse"), true);
    assert.equal(await verifyPasswordAsync(undefined, "correct horse"), false);
    const soft = deriveAll("I\u00ADX");
    assert.equal(verifyPassword(user(soft), "IX"), true);
    assert.equal(verifyPassword(user(soft), "I\u00A0X"), false);
    assert.equal(verifyPassword(user(deriveAll("a b")), "a\u00A0b"), true); // non-ASCII space maps to space
    assert.equal(verifyPassword(user(alice), "a\u0007"), false);
  });

  it("deriveScram honours salt and iterations", () => {
    const c = deriveScram("pencil", "SHA-256", 1000, Buffer.from("salt"));
    assert.equal(c.iterations, 1000);
    assert.deepEqual(c.salt, Buffer.from("salt"));
    assert.equal(c.storedKey.length, 32);
    assert.equal(deriveScram("pencil", "SHA-1").serverKey.length, 20);
    assert.notDeepEqual(alice["SHA-1"].salt, alice["SHA-256"].salt);
  });

  it("saslprep maps, and rejects prohibited input clearly", () => {
    assert.equal(saslprep("I\u00ADX"), "IX");
    assert.equal(saslprep("\u2168"), "IX");
    assert.throws(() => saslprep("a\u0007"), /SASLprep/);
    assert.throws(() => preparePassword(""), /empty/);
    assert.throws(() => deriveScram("\u00AD", "SHA-1"), /empty/);
  });
});

describe("channel binding", () => {
  x509.cryptoProvider.set(webcrypto as unknown as Crypto);

  async function makeCert(alg: RsaHashedKeyGenParams | EcKeyGenParams | RsaPssParams | { name: string }, signing?: Algorithm | EcdsaParams | RsaPssParams) {
    const keys = await webcrypto.subtle.generateKey(alg as EcKeyGenParams, true, ["sign", "verify"]);
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: "01",
      name: "CN=localhost",
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 3_600_000),
      signingAlgorithm: signing ?? alg,
      keys,
    });
    const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
    const key = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString("base64").replace(/(.{64})/g, "$1\n")}\n-----END PRIVATE KEY-----\n`;
    return { cert: cert.toString("pem"), key, der: Buffer.from(cert.rawData) };
  }

  it("endPointHash follows the signature algorithm (RFC 5929 §4.1)", async () => {
    const rsa = (hash: string) => ({ name: "RSASSA-PKCS1-v1_5", hash, publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 1024 });
    assert.equal(endPointHash((await makeCert(rsa("SHA-1"))).der), "sha256");
    assert.equal(endPointHash((await makeCert(rsa("SHA-512"))).der), "sha512");
    assert.equal(endPointHash((await makeCert({ name: "ECDSA", namedCurve: "P-256", hash: "SHA-384" })).der), "sha384");
    const pss = { name: "RSA-PSS", hash: "SHA-384", publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 1024 };
    assert.equal(endPointHash((await makeCert(pss, { ...pss, saltLength: 48 })).der), "sha384");
    assert.equal(endPointHash((await makeCert({ name: "Ed25519" })).der), undefined);
    assert.equal(endPointHash(Buffer.from([0x30, 0x05, 0x01])), undefined);
  });

  async function connect(maxVersion: tls.SecureVersion) {
    const { cert, key } = await makeCert({ name: "ECDSA", namedCurve: "P-256", hash: "SHA-384" });
    const server = tls.createServer({ cert, key, maxVersion });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const serverSide = once(server, "secureConnection") as Promise<[tls.TLSSocket]>;
    const client = tls.connect({ port: (server.address() as AddressInfo).port, host: "127.0.0.1", rejectUnauthorized: false, maxVersion });
    await once(client, "secureConnect");
    const [socket] = await serverSide;
    const close = () => {
      client.destroy();
      socket.destroy();
      server.close();
    };
    return { client, socket, close, endPoint: endPointBinding(cert) };
  }

  it("TLS 1.3 offers tls-exporter and tls-server-end-point matching the client's view", async () => {
    const { client, socket, close, endPoint } = await connect("TLSv1.3");
    try {
      const cb = channelBindingsFor(socket, endPoint);
      assert.deepEqual(Object.keys(cb).sort(), ["tls-exporter", "tls-server-end-point"]);
      const exporter = (client.exportKeyingMaterial as (n: number, l: string) => Buffer)(32, "EXPORTER-Channel-Binding");
      assert.deepEqual(cb["tls-exporter"]!(), exporter);
      const peer = client.getPeerCertificate().raw;
      assert.deepEqual(cb["tls-server-end-point"]!(), createHash("sha384").update(peer).digest());

      const ctx = ctxWith(users, { plusAdvertised: true, channelBinding: cb });
      const r = await scramClient(findMechanism("SCRAM-SHA-256-PLUS")!.start(ctx), "SHA-256", {
        user: "alice",
        password: "correct horse",
        gs2: "p=tls-exporter,,",
        cbData: exporter,
      });
      assert.equal(r.kind, "success");
    } finally {
      close();
    }
  });

  it("TLS 1.2 offers only tls-server-end-point", async () => {
    const { socket, close, endPoint } = await connect("TLSv1.2");
    try {
      assert.deepEqual(Object.keys(channelBindingsFor(socket, endPoint)), ["tls-server-end-point"]);
    } finally {
      close();
    }
  });
});

describe("the login throttle is asked before any credential is checked", () => {
  // A context whose throttle refuses `locked`, and which records what was asked.
  const throttledCtx = (asked: string[]) =>
    ctxWith(users, {
      admit: async (u) => {
        asked.push(`admit ${u}`);
        return u !== "alice";
      },
      throttled: (u) => {
        asked.push(`peek ${u}`);
        return false;
      },
    });

  it("PLAIN: past the limit the right and the wrong password get the same failure, and no check", async () => {
    const asked: string[] = [];
    const right = await plainMechanism.start(throttledCtx(asked)).step(Buffer.from("\0alice\0correct horse"));
    const wrong = await plainMechanism.start(throttledCtx(asked)).step(Buffer.from("\0alice\0wrong"));
    assertFailure(right, saslFailures.throttled, "alice");
    assert.deepEqual(wrong, right);
    assert.deepEqual(asked, ["admit alice", "admit alice"]);
  });

  it("SCRAM: refused at the client-first message when already over the limit", async () => {
    const s = scramMechanism("SHA-256", false).start(ctxWith(users, { throttled: (u) => u === "alice" }));
    assertFailure(await s.step(Buffer.from("n,,n=alice,r=abcdef")), saslFailures.throttled, "alice");
  });

  it("SCRAM: over the limit by the client-final message, the right and the wrong proof get the same failure", async () => {
    const asked: string[] = [];
    const right = await scramClient(scramMechanism("SHA-256", false).start(throttledCtx(asked)), "SHA-256", { user: "alice", password: "correct horse" });
    const wrong = await scramClient(scramMechanism("SHA-256", false).start(throttledCtx(asked)), "SHA-256", { user: "alice", password: "wrong" });
    assertFailure(right, saslFailures.throttled, "alice");
    assert.deepEqual(wrong, right);
    assert.deepEqual(asked, ["peek alice", "admit alice", "peek alice", "admit alice"]);
  });

  it("SCRAM: an unknown account's fake credentials use the context's iterations", async () => {
    const s = scramMechanism("SHA-1", false).start(ctxWith(users, { scramIterations: 20_000 }));
    assert.match(text(await s.step(Buffer.from("n,,n=nobody,r=abcdef"))), /,i=20000$/);
  });
});
