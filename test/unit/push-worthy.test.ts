// What wakes a phone (src/features/push/triggers.ts pushWorthy): messages a person wants to
// hear of, and not the traffic around them, with the sender's bare JID and, for counting each
// message once, its sender and id.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseStanza } from "../../src/xml/parse.js";
import { pushWorthy } from "../../src/features/push/triggers.js";

const worthy = (xml: string) => pushWorthy(parseStanza(xml)!);

test("chat and normal messages with a body are worth a push, with the sender's bare JID and a key", () => {
  assert.deepEqual(worthy("<message xmlns='jabber:client' type='chat' from='bob@x/desk' id='m1'><body>hi</body></message>"), {
    sender: "bob@x",
    body: "hi",
    key: "bob@x/desk\0m1",
  });
  assert.deepEqual(worthy("<message xmlns='jabber:client' from='bob@x/desk'><body>no type, no id</body></message>"), {
    sender: "bob@x",
    body: "no type, no id",
  });
});

test("encrypted messages, calls and invitations are worth a push without a body", () => {
  for (const payload of [
    "<encrypted xmlns='eu.siacs.conversations.axolotl'/>",
    "<encrypted xmlns='urn:xmpp:omemo:2'/>",
    "<openpgp xmlns='urn:xmpp:openpgp:0'/>",
    "<x xmlns='jabber:x:encrypted'/>",
    "<propose xmlns='urn:xmpp:jingle-message:0' id='c1'/>",
    "<x xmlns='jabber:x:conference' jid='room@muc.x'/>",
  ]) {
    assert.deepEqual(worthy(`<message xmlns='jabber:client' type='chat' from='bob@x/d'>${payload}</message>`), { sender: "bob@x" }, payload);
  }
});

test("chat states, receipts, errors, headlines, group chat and the user's own sent carbons are not", () => {
  for (const xml of [
    "<message xmlns='jabber:client' type='chat' from='bob@x/d'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>",
    "<message xmlns='jabber:client' type='chat' from='bob@x/d'><received xmlns='urn:xmpp:receipts' id='m1'/></message>",
    "<message xmlns='jabber:client' type='chat' from='bob@x/d'><body></body></message>",
    "<message xmlns='jabber:client' type='error' from='bob@x/d'><body>bounced</body></message>",
    "<message xmlns='jabber:client' type='headline' from='news@x'><body>news</body></message>",
    "<message xmlns='jabber:client' type='groupchat' from='room@muc.x/nick'><body>hi all</body></message>",
    "<message xmlns='jabber:client' type='chat' from='alice@x'><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>" +
      "<message xmlns='jabber:client' type='chat' from='alice@x/desk' to='bob@x'><body>mine</body></message></forwarded></sent></message>",
    "<presence xmlns='jabber:client' from='bob@x/d'/>",
  ]) {
    assert.equal(worthy(xml), undefined, xml);
  }
});

test("a received carbon is judged by the message it carries", () => {
  const carbon = (inner: string, from = "alice@x") =>
    `<message xmlns='jabber:client' type='chat' from='${from}' to='alice@x/phone'><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>${inner}</forwarded></received></message>`;
  assert.deepEqual(worthy(carbon("<message xmlns='jabber:client' type='chat' from='bob@x/d' id='c1'><body>to the desk</body></message>")), {
    sender: "bob@x",
    body: "to the desk",
    key: "bob@x/d\0c1",
  });
  assert.equal(
    worthy(carbon("<message xmlns='jabber:client' type='chat' from='bob@x/d'><paused xmlns='http://jabber.org/protocol/chatstates'/></message>")),
    undefined,
  );
});
