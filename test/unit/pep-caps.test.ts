// XEP-0115 §5.1's verification string, checked against the specification's own examples
// (§5.2 simple, §5.3 complex with an extended data form) and §5.4's refusals.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { parseStanza } from "../../src/xml/parse.js";
import { verificationString } from "../../src/features/pep/caps.js";

const sha1 = (s: string) => createHash("sha1").update(s, "utf8").digest("base64");
const query = (inner: string) => parseStanza(`<query xmlns='http://jabber.org/protocol/disco#info'>${inner}</query>`)!;

test("XEP-0115 §5.2: the simple example hashes to QgayPKawpkPSDYmwT/WM94uAlu0=", () => {
  const q = query(
    "<identity category='client' name='Exodus 0.9.1' type='pc'/><feature var='http://jabber.org/protocol/muc'/>" +
      "<feature var='http://jabber.org/protocol/disco#info'/><feature var='http://jabber.org/protocol/disco#items'/><feature var='http://jabber.org/protocol/caps'/>",
  );
  assert.equal(sha1(verificationString(q)!), "QgayPKawpkPSDYmwT/WM94uAlu0=");
});

test("XEP-0115 §5.3: the complex example (two identities, xml:lang, a software-info form) hashes to q07IKJEyjvHSyhy//CH0CxmKi8w=", () => {
  const q = query(
    "<identity xml:lang='en' category='client' name='Psi 0.11' type='pc'/><identity xml:lang='el' category='client' name='Ψ 0.11' type='pc'/>" +
      "<feature var='http://jabber.org/protocol/caps'/><feature var='http://jabber.org/protocol/disco#info'/><feature var='http://jabber.org/protocol/disco#items'/><feature var='http://jabber.org/protocol/muc'/>" +
      "<x xmlns='jabber:x:data' type='result'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:dataforms:softwareinfo</value></field>" +
      "<field var='ip_version'><value>ipv4</value><value>ipv6</value></field><field var='os'><value>Mac</value></field><field var='os_version'><value>10.5.1</value></field>" +
      "<field var='software'><value>Psi</value></field><field var='software_version'><value>0.11</value></field></x>",
  );
  assert.equal(sha1(verificationString(q)!), "q07IKJEyjvHSyhy//CH0CxmKi8w=");
});

test("XEP-0115 §5.4: duplicate identities or features, or two forms of one FORM_TYPE, cannot be verified", () => {
  assert.equal(verificationString(query("<identity category='client' type='pc'/><identity category='client' type='pc'/>")), undefined);
  assert.equal(verificationString(query("<feature var='a'/><feature var='a'/>")), undefined);
  const form = "<x xmlns='jabber:x:data' type='result'><field var='FORM_TYPE' type='hidden'><value>urn:x</value></field></x>";
  assert.equal(verificationString(query(form + form)), undefined);
});
