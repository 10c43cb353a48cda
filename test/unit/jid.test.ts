import { strict as assert } from "node:assert";
import { domainToASCII } from "node:url";
import { describe, it } from "node:test";
import { JID, MAX_PART_BYTES, normaliseDomain, normaliseLocal, normaliseResource, parseJid } from "../../src/core/jid.js";

const str = (s: string) => parseJid(s)?.toString();

describe("RFC 7622 §3.5 examples", () => {
  // Table 1 (valid), with the expected normalised form.
  const valid: [string, string][] = [
    ["juliet@example.com", "juliet@example.com"],
    ["juliet@example.com/foo", "juliet@example.com/foo"],
    ["juliet@example.com/foo bar", "juliet@example.com/foo bar"],
    ["juliet@example.com/foo@bar", "juliet@example.com/foo@bar"],
    [String.raw`foo\20bar@example.com`, String.raw`foo\20bar@example.com`],
    ["fussball@example.com", "fussball@example.com"],
    ["fußball@example.com", "fußball@example.com"],
    ["π@example.com", "π@example.com"],
    ["Σ@example.com/foo", "σ@example.com/foo"],
    ["σ@example.com/foo", "σ@example.com/foo"],
    ["ς@example.com/foo", "ς@example.com/foo"],
    ["king@example.com/♚", "king@example.com/♚"],
    ["example.com", "example.com"],
    ["example.com/foobar", "example.com/foobar"],
    ["a.example.com/b@example.net", "a.example.com/b@example.net"],
  ];
  for (const [input, output] of valid) {
    it(`accepts ${JSON.stringify(input)}`, () => {
      assert.equal(str(input), output);
      assert.equal(str(output), output, "normalisation is idempotent");
    });
  }

  // Table 2 (invalid), minus the leading-space resource (see below), plus a few more.
  const invalid = [
    '"juliet"@example.com',
    "foo bar@example.com",
    "@example.com/",
    "henry\u2163@example.com", // ROMAN NUMERAL FOUR: HasCompat, not IdentifierClass
    "♚@example.com", // a symbol
    "juliet@",
    "/foobar",
    "@example.com",
    "user@example.com/",
    "example.com/",
    "",
    "a@b@example.com",
    "a\u0000@example.com",
    "juliet@example.com/a\u0007b",
  ];
  for (const input of invalid) {
    it(`rejects ${JSON.stringify(input)}`, () => assert.equal(parseJid(input), undefined));
  }

  it("accepts a leading space in the resourcepart (OpaqueString has no rule against it)", () => {
    assert.equal(parseJid("juliet@example.com/ foo")?.resource, " foo");
  });
});

describe("parsing", () => {
  it("splits the resource at the first '/' and the local at the first '@' before it", () => {
    const j = parseJid("a@b.example/c@d/e")!;
    assert.equal(j.local, "a");
    assert.equal(j.domain, "b.example");
    assert.equal(j.resource, "c@d/e");
    const k = parseJid("b.example/c@d")!;
    assert.equal(k.local, undefined);
    assert.equal(k.resource, "c@d");
  });

  it("finds separators before mapping: fullwidth ＠ and ／ are not separators", () => {
    assert.equal(parseJid("a＠b@example.com"), undefined);
    assert.equal(parseJid("a／b@example.com"), undefined);
    assert.equal(parseJid("example.com／foo"), undefined);
    assert.equal(parseJid("example.com/a／b")?.resource, "a／b"); // OpaqueString: no width mapping
  });

  it("rejects the characters RFC 7622 §3.3.1 forbids in a localpart", () => {
    for (const c of ['"', "&", "'", ":", "<", ">", " "]) {
      assert.equal(parseJid(`a${c}b@example.com`), undefined, c);
      assert.equal(normaliseLocal(`a${c}b`), undefined, c);
    }
    assert.equal(normaliseLocal("a/b"), undefined);
    assert.equal(normaliseLocal("a@b"), undefined);
    assert.equal(normaliseLocal("!#$%*+-.=?^_`{|}~\\"), "!#$%*+-.=?^_`{|}~\\");
  });

  it("returns the same object for repeated input (cache) and stays correct past the cache size", () => {
    const a = parseJid("Cache@Example.com/R")!;
    assert.equal(parseJid("Cache@Example.com/R"), a);
    for (let i = 0; i < 2500; i++) assert.equal(str(`u${i}@EXAMPLE.com`), `u${i}@example.com`);
    assert.ok(parseJid("Cache@Example.com/R")!.equals(a));
  });
});

describe("localpart (UsernameCaseMapped)", () => {
  it("case-folds with toLowerCase, keeping ß and ς distinct", () => {
    assert.equal(normaliseLocal("JuLiEt"), "juliet");
    assert.equal(normaliseLocal("ÉLODIE"), "élodie");
    assert.equal(normaliseLocal("ΣΑΣ"), "σασ"); // no context-dependent final sigma
    assert.equal(normaliseLocal("ß"), "ß");
    assert.notEqual(normaliseLocal("fußball"), normaliseLocal("fussball"));
    assert.notEqual(normaliseLocal("ς"), normaliseLocal("σ"));
    assert.equal(normaliseLocal("İ"), "i\u0307");
    assert.equal(normaliseLocal("\u212Aevin"), "kevin"); // KELVIN SIGN lowercases to k
  });

  it("maps fullwidth and halfwidth forms to their decompositions", () => {
    assert.equal(normaliseLocal("ＪＵＬＩＥＴ"), "juliet");
    assert.equal(normaliseLocal("ｶﾞ"), "ガ"); // halfwidth katakana + voiced mark, then NFC
    for (const c of ["＂", "＆", "＇", "／", "：", "＜", "＞", "＠", "\u3000"]) {
      assert.equal(normaliseLocal(`a${c}b`), undefined, c);
    }
  });

  it("normalises to NFC", () => {
    assert.equal(normaliseLocal("e\u0301"), "é");
    assert.equal(normaliseLocal("E\u0301"), "é");
    assert.equal(normaliseLocal("\u1100\u1161"), "가");
  });

  it("rejects code points outside the IdentifierClass", () => {
    for (const s of [
      "♚",
      "😀",
      "a\u2163",
      "ﬀ",
      "①",
      "\u00bd", // symbols, HasCompat
      "a\tb",
      "a\u007fb",
      "a\u0085b", // controls
      "a\u00adb",
      "a\u200bb",
      "a\u034fb",
      "a\u202eb", // default ignorables / format
      "\ue000",
      "\ufdd0",
      "\u0378", // private use, noncharacter, unassigned
      "\ud800",
      "a\udc00", // lone surrogates
      "\u1100", // old Hangul jamo that does not compose
      "\u0640",
      "\u07fa", // RFC 5892 exceptions: DISALLOWED
      "a\u00a0b",
      "a\u2003b", // non-ASCII spaces
      "\u2028", // line separator
    ]) {
      assert.equal(normaliseLocal(s), undefined, JSON.stringify(s));
    }
  });

  it("accepts letters and digits of many scripts", () => {
    for (const s of ["жюльетта", "ジュリエット", "朱丽叶", "줄리엣", "जूलियट", "ΙΟΥΛΙΕΤΑ".toLowerCase(), "ب١٢", "۱۲۳", "juliet42", "〇"]) {
      assert.equal(normaliseLocal(s), s, s);
    }
  });

  it("applies the RFC 5892 context rules", () => {
    assert.equal(normaliseLocal("col·la"), "col·la"); // Catalan
    assert.equal(normaliseLocal("co·la"), undefined);
    assert.equal(normaliseLocal("١٢٣"), undefined); // only AN: Bidi Rule 1 wants R/AL first
    assert.equal(normaliseLocal("l·l"), "l·l");
    assert.equal(normaliseLocal("L·L"), "l·l");
    assert.equal(normaliseLocal("a·b"), undefined);
    assert.equal(normaliseLocal("\u0375α"), "\u0375α"); // keraia before Greek
    assert.equal(normaliseLocal("\u0375a"), undefined);
    assert.equal(normaliseLocal("א׳"), "א׳"); // geresh after Hebrew
    assert.equal(normaliseLocal("׳א"), undefined);
    assert.equal(normaliseLocal("カ・a"), "カ・a"); // katakana middle dot needs kana/han
    assert.equal(normaliseLocal("a・b"), undefined);
    assert.equal(normaliseLocal("١۲"), undefined); // Arabic-Indic and extended digits mixed
    assert.equal(normaliseLocal("क्\u200dष"), "क्\u200dष"); // ZWJ after virama
    assert.equal(normaliseLocal("क्\u200cष"), "क्\u200cष"); // ZWNJ after virama
    assert.equal(normaliseLocal("ب\u200cب"), "ب\u200cب"); // ZWNJ between joining letters
    assert.equal(normaliseLocal("a\u200cb"), undefined);
    assert.equal(normaliseLocal("a\u200db"), undefined);
  });

  it("applies the Bidi Rule to right-to-left strings", () => {
    assert.equal(normaliseLocal("אב"), "אב");
    assert.equal(normaliseLocal("אב1"), "אב1");
    assert.equal(normaliseLocal("\u05d0\u05b0"), "\u05d0\u05b0"); // trailing NSM
    assert.equal(normaliseLocal("אבa"), undefined); // L in an RTL string
    assert.equal(normaliseLocal("aאב"), undefined);
    assert.equal(normaliseLocal("1אב"), undefined); // must start with R/AL
    assert.equal(normaliseLocal("אב-"), undefined); // must end with R/AL/EN/AN
    assert.equal(normaliseLocal("بب1١"), undefined); // EN and AN together
    assert.equal(normaliseLocal("juliet"), "juliet");
  });

  it("limits the localpart to 1023 bytes of UTF-8 after normalisation", () => {
    assert.equal(normaliseLocal("a".repeat(MAX_PART_BYTES)), "a".repeat(MAX_PART_BYTES));
    assert.equal(normaliseLocal("a".repeat(MAX_PART_BYTES + 1)), undefined);
    assert.equal(normaliseLocal("e\u0301".repeat(511) + "a"), "é".repeat(511) + "a"); // 1023 bytes
    assert.equal(normaliseLocal("é".repeat(512)), undefined); // 1024 bytes
    assert.equal(normaliseLocal("Ａ".repeat(1023)), "a".repeat(1023)); // 3069 bytes in, 1023 out
    assert.equal(normaliseLocal(""), undefined);
    assert.equal(parseJid(`${"a".repeat(1024)}@example.com`), undefined);
  });
});

describe("resourcepart (OpaqueString)", () => {
  it("preserves case and width, maps non-ASCII spaces, normalises to NFC", () => {
    assert.equal(normaliseResource("Balcony"), "Balcony");
    assert.equal(parseJid("juliet@example.com/Balcony")!.resource, "Balcony");
    assert.notEqual(str("juliet@example.com/Balcony"), str("juliet@example.com/balcony"));
    assert.equal(normaliseResource("Ｒ"), "Ｒ");
    assert.equal(normaliseResource("Ⅳ"), "Ⅳ");
    assert.equal(normaliseResource("ﬀ"), "ﬀ");
    assert.equal(normaliseResource("😀 ♚"), "😀 ♚");
    assert.equal(normaliseResource("A\u00a0B\u3000"), "A B ");
    assert.equal(normaliseResource("Re\u0301s"), "Rés");
    assert.equal(normaliseResource(" "), " ");
    assert.equal(normaliseResource("a@b/c"), "a@b/c");
  });

  it("rejects code points outside the FreeformClass", () => {
    for (const s of [
      "\u0000",
      "\t",
      "a\nb",
      "\u007f",
      "\u0085",
      "\u00ad",
      "\u200b",
      "\ue000",
      "\ufdd0",
      "\ud800",
      "\u0378",
      "\u2028",
      "a\u200db",
      "a·b",
      "\u0640",
    ]) {
      assert.equal(normaliseResource(s), undefined, JSON.stringify(s));
    }
    assert.equal(normaliseResource(""), undefined);
  });

  it("limits the resourcepart to 1023 bytes", () => {
    assert.equal(normaliseResource("x".repeat(1023)), "x".repeat(1023));
    assert.equal(normaliseResource("x".repeat(1024)), undefined);
    assert.equal(normaliseResource("😀".repeat(255) + "abc")?.length, 513); // 1023 bytes
    assert.equal(normaliseResource("😀".repeat(256)), undefined); // 1024 bytes
  });
});

describe("domainpart", () => {
  it("lowercases and strips one trailing dot", () => {
    assert.equal(normaliseDomain("Example.COM"), "example.com");
    assert.equal(normaliseDomain("example.com."), "example.com");
    assert.equal(str("Juliet@EXAMPLE.com./Foo"), "juliet@example.com/Foo");
    assert.equal(normaliseDomain("example.com.."), undefined);
    assert.equal(normaliseDomain("."), undefined);
    assert.ok(parseJid("juliet@example.com.")!.equals(parseJid("JULIET@example.com")));
  });

  it("maps width, ideographic full stops and case; converts A-labels to U-labels", () => {
    assert.equal(normaliseDomain("ＥＸＡＭＰＬＥ．ｃｏｍ"), "example.com");
    assert.equal(normaliseDomain("example。com"), "example.com");
    assert.equal(normaliseDomain("example｡com"), "example.com");
    assert.equal(normaliseDomain("BÜCHER.example"), "bücher.example");
    assert.equal(normaliseDomain("BU\u0308CHER.example"), "bücher.example");
    assert.equal(normaliseDomain("XN--BCHER-KVA.example"), "bücher.example");
    assert.equal(normaliseDomain("xn--fa-hia.de"), "faß.de");
    assert.equal(normaliseDomain("faß.de"), "faß.de");
    assert.equal(normaliseDomain("例え.テスト"), "例え.テスト");
    assert.equal(normaliseDomain("l·l.cat"), "l·l.cat");
  });

  it("round-trips U-labels through the platform's punycode", () => {
    for (const u of ["münchen", "日本語", "ñandú", "καλημέρα", "пример", "ไทย", "가나다"]) {
      const ace = domainToASCII(`${u}.example`);
      assert.equal(normaliseDomain(ace), `${u}.example`, ace);
    }
  });

  it("rejects malformed and non-IDNA domains", () => {
    for (const d of [
      "",
      "a..b",
      ".example",
      "-a.example",
      "a-.example",
      "ab--cd.example",
      "_xmpp.example",
      "a b.example",
      "a%20b.example",
      "example.com:5222",
      "a@b",
      "xn--.example",
      "xn--abc-.example",
      "xn--zz.example",
      "😀.example",
      "a·b.example",
      "\u0301a.example",
      "a\u200db.example",
      "\u00ad.example",
      "a\u2163.example",
      "ⓐ.example",
      "a".repeat(64) + ".example",
      "é".repeat(58) + ".example",
      "אבa.example",
      "123.אב.example",
      "example.123",
      "256.1.1.1",
      "1.2.3",
    ]) {
      assert.equal(normaliseDomain(d), undefined, JSON.stringify(d));
    }
  });

  it("checks the Bidi Rule across all labels of a right-to-left domain", () => {
    assert.equal(normaliseDomain("אב.example"), "אב.example");
    assert.equal(normaliseDomain("a123.אב.example"), "a123.אב.example");
    assert.equal(normaliseDomain("123.example"), "123.example"); // no RTL label: no Bidi Rule
    assert.equal(normaliseDomain("123.אב.example"), undefined);
  });

  it("accepts IP literals", () => {
    assert.equal(normaliseDomain("127.0.0.1"), "127.0.0.1");
    assert.equal(normaliseDomain("[::1]"), "[::1]");
    assert.equal(normaliseDomain("[2001:0DB8:0:0:0:0:0:1]"), "[2001:db8::1]");
    assert.equal(str("user@[::1]/r"), "user@[::1]/r");
    for (const d of ["[::gg]", "::1", "[::1", "[::1%25eth0]", "[v1.x]", "[127.0.0.1]", "01.2.3.4"]) {
      assert.equal(normaliseDomain(d), undefined, d);
    }
  });

  it("limits labels to 63 octets (A-label form) and the domain to 1023 bytes", () => {
    const l63 = "a".repeat(63);
    assert.equal(normaliseDomain(`${l63}.example`), `${l63}.example`);
    assert.equal(normaliseDomain(`${"é".repeat(57)}.example`), `${"é".repeat(57)}.example`);
    const long = Array(16).fill(l63).join("."); // 16*64-1 = 1023
    assert.equal(normaliseDomain(long), long);
    assert.equal(normaliseDomain(`a${long}`), undefined);
    assert.equal(normaliseDomain(`a.${long}`), undefined);
  });
});

describe("JID", () => {
  it("formats, compares and strips the resource", () => {
    const full = parseJid("Juliet@Example.com/Balcony")!;
    assert.equal(full.toString(), "juliet@example.com/Balcony");
    assert.equal(`${full}`, "juliet@example.com/Balcony");
    assert.equal(full.bareString, "juliet@example.com");
    assert.equal(full.isBare(), false);
    const bare = full.bare();
    assert.equal(bare.toString(), "juliet@example.com");
    assert.equal(bare.isBare(), true);
    assert.equal(bare.bare(), bare);
    assert.ok(bare.equals(new JID("juliet", "example.com")));
    assert.ok(!bare.equals(full));
    assert.ok(full.equals(new JID("juliet", "example.com", "Balcony")));
    assert.ok(!full.equals(new JID("juliet", "example.com", "balcony")));

    const domainOnly = new JID(undefined, "example.com", "r");
    assert.equal(domainOnly.toString(), "example.com/r");
    assert.equal(domainOnly.bareString, "example.com");
    assert.equal(domainOnly.local, undefined);
    assert.ok(!domainOnly.bare().equals(new JID("x", "example.com")));
  });

  it("treats empty local/resource given to the constructor as absent", () => {
    const j = new JID("", "example.com", "");
    assert.equal(j.local, undefined);
    assert.equal(j.resource, undefined);
    assert.equal(j.toString(), "example.com");
  });
});
