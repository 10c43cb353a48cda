// The client side of SCRAM (RFC 5802), with channel binding for -PLUS when given, for driving a real server
// through a RawClient: sends <auth/> and the client-final message, and leaves the server's
// final answer (<success/> or <failure/>) in the client's buffer for the test to check.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";
import type { RawClient } from "./raw-client.js";
import { NS_SASL, parseServerOutput, show } from "./xml.js";

type Hash = "SHA-1" | "SHA-256";
const alg = (h: Hash) => (h === "SHA-1" ? "sha1" : "sha256");
const len = (h: Hash) => (h === "SHA-1" ? 20 : 32);

/**
 * Runs a SCRAM-<hash> exchange up to the client-final message. Returns once the server has
 * sent the challenge and the final message is on its way; the caller then waits for the
 * server's <success/> or <failure/> (e.g. with expectSaslFailure).
 */
export async function scramAuth(
  c: RawClient,
  username: string,
  password: string,
  hash: Hash = "SHA-256",
  plus?: { type: string; data: Buffer },
): Promise<void> {
  const cnonce = randomBytes(18).toString("base64");
  const gs2 = plus ? `p=${plus.type},,` : "n,,";
  const bare = `n=${username.replace(/=/g, "=3D").replace(/,/g, "=2C")},r=${cnonce}`;
  c.send(`<auth xmlns='${NS_SASL}' mechanism='SCRAM-${hash}${plus ? "-PLUS" : ""}'>${Buffer.from(gs2 + bare).toString("base64")}</auth>`);
  const challenge = await c.waitUntil(
    (text) =>
      parseServerOutput(text).flatMap((i) =>
        i.kind === "element" && i.el.ns === NS_SASL && ["challenge", "failure", "success"].includes(i.el.name) ? [i.el] : [],
      )[0],
    "the SCRAM challenge",
  );
  if (challenge.name !== "challenge") throw new Error(`expected a SCRAM challenge, got ${show(challenge)}`);
  c.clear();
  const serverFirst = Buffer.from(challenge.text, "base64").toString();
  const attrs = Object.fromEntries(serverFirst.split(",").map((p) => [p[0]!, p.slice(2)] as const));
  if (!attrs.r?.startsWith(cnonce) || !attrs.s || !attrs.i) throw new Error(`bad server-first message: ${serverFirst}`);
  const salted = pbkdf2Sync(password, Buffer.from(attrs.s, "base64"), Number(attrs.i), len(hash), alg(hash));
  const clientKey = createHmac(alg(hash), salted).update("Client Key").digest();
  const storedKey = createHash(alg(hash)).update(clientKey).digest();
  const withoutProof = `c=${Buffer.concat([Buffer.from(gs2), plus?.data ?? Buffer.alloc(0)]).toString("base64")},r=${attrs.r}`;
  const authMessage = `${bare},${serverFirst},${withoutProof}`;
  const signature = createHmac(alg(hash), storedKey).update(authMessage).digest();
  const proof = Buffer.alloc(clientKey.length);
  for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i]! ^ signature[i]!;
  c.send(`<response xmlns='${NS_SASL}'>${Buffer.from(`${withoutProof},p=${proof.toString("base64")}`).toString("base64")}</response>`);
}
