// Known-answer tests for FAST (XEP-0484, HT-SHA-256-*) and Bind2 (XEP-0386) resource naming:
// the vectors of the reference specification (§3.4 and checklist item 40), computed with the
// server's own functions.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { htInitiator, htResponder } from "../../src/auth/fast.js";
import { bind2Resource } from "../../src/auth/bind2.js";

const TOKEN = "secret-token:fast-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const NO_CB = Buffer.alloc(0);

test("HT-SHA-256-NONE initiator HMAC for the §3.4 vector", () => {
  assert.equal(htInitiator(TOKEN, NO_CB).toString("hex"), "5d674ed39e8acf9bb80191a0a2854efd3ff71b4f2f6756f9dd5fe18291e65c3e");
});

test("HT-SHA-256-NONE initial response (authcid NUL initiator HMAC) for the §3.4 vector", () => {
  const ir = Buffer.concat([Buffer.from("juliet"), Buffer.from([0]), htInitiator(TOKEN, NO_CB)]);
  assert.equal(ir.toString("base64"), "anVsaWV0AF1nTtOeis+buAGRoKKFTv0/9xtPL2dW+d1f4YKR5lw+");
});

test("HT-SHA-256-NONE responder HMAC (the <additional-data>) for the §3.4 vector", () => {
  assert.equal(htResponder(TOKEN, NO_CB).toString("base64"), "rdBIV5YCffprD1L7Y/FdkUcQxh8IA2Bb3x6MZltnJmE=");
});

test("the HT HMACs cover the channel binding data: HMAC(token, 'Initiator'||cb) and HMAC(token, 'Responder'||cb)", () => {
  const cb = Buffer.from("0123456789abcdef0123456789abcdef");
  const expectI = createHmac("sha256", TOKEN)
    .update(Buffer.concat([Buffer.from("Initiator"), cb]))
    .digest();
  const expectR = createHmac("sha256", TOKEN)
    .update(Buffer.concat([Buffer.from("Responder"), cb]))
    .digest();
  assert.deepEqual(htInitiator(TOKEN, cb), expectI);
  assert.deepEqual(htResponder(TOKEN, cb), expectR);
  assert.notDeepEqual(htInitiator(TOKEN, cb), htInitiator(TOKEN, NO_CB), "different channel binding data gives a different proof");
  assert.notDeepEqual(htInitiator(TOKEN, NO_CB), htResponder(TOKEN, NO_CB), "initiator and responder proofs differ");
});

test("Bind2 resource for tag AwesomeXMPP and client id d4565fa7-… is AwesomeXMPP~Uk5h3wclxrRq (item 40)", () => {
  assert.equal(bind2Resource("AwesomeXMPP", "d4565fa7-4d72-4749-b3d3-740edbf87770"), "AwesomeXMPP~Uk5h3wclxrRq");
});

test("Bind2 resource is stable per client id and differs between client ids", () => {
  assert.equal(bind2Resource("T", "client-1"), bind2Resource("T", "client-1"));
  assert.notEqual(bind2Resource("T", "client-1"), bind2Resource("T", "client-2"));
});

test("Bind2 resource without a client id is tag~ followed by a random suffix", () => {
  const a = bind2Resource("T", undefined);
  const b = bind2Resource("T", undefined);
  assert.match(a, /^T~.+$/);
  assert.notEqual(a, b);
});
