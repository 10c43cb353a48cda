// The pure parts of HTTP file upload (src/features/upload): which filenames and types a slot
// may have, how a file is labelled when served, byte ranges, and the size shown in client lists.
import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { disposition, normaliseType, safeInline, validFilename } from "../../src/features/upload/content-type.js";
import { rangeOf } from "../../src/features/upload/serve.js";
import { formatBytes } from "../../src/features/upload/index.js";

describe("upload filenames (a name, never a path)", () => {
  it("takes names with spaces, dots and any script", () => {
    for (const n of ["a.txt", "holiday photo.jpg", ".hidden", "..double", "fichier été.pdf", "写真.png", "😀.gif", "x".repeat(255)])
      assert.ok(validFilename(n), n);
  });
  it("refuses separators, dot names, control characters, lone surrogates, empty and overlong names", () => {
    for (const n of ["", ".", "..", "a/b", "../x", "a\\b", "nul\u0000.txt", "tab\t.txt", "del\u007f", "c1\u0085", "lone\ud800.txt", "x".repeat(256)])
      assert.ok(!validFilename(n), JSON.stringify(n));
  });
});

describe("content types", () => {
  it("normalises to lower-case type/subtype without parameters, and refuses what is not one", () => {
    assert.equal(normaliseType("Text/HTML; charset=UTF-8"), "text/html");
    assert.equal(normaliseType(" image/png "), "image/png");
    assert.equal(normaliseType("application/vnd.oasis.opendocument.text"), "application/vnd.oasis.opendocument.text");
    for (const t of ["", "text", "text/", "/plain", "a b/c", "text/plain/x", "<a>/b"]) assert.equal(normaliseType(t), undefined, t);
  });
  it("shows inline only what cannot run: images but SVG, audio, video, plain text", () => {
    for (const t of ["image/png", "image/jpeg", "audio/ogg", "video/mp4", "text/plain"]) assert.ok(safeInline(t), t);
    for (const t of ["image/svg+xml", "text/html", "application/xhtml+xml", "text/xml", "application/pdf", "application/javascript", "text/css"])
      assert.ok(!safeInline(t), t);
  });
  it("Content-Disposition carries an ASCII fallback and the UTF-8 name (RFC 6266, RFC 8187), with quotes and backslashes escaped away", () => {
    assert.equal(disposition("attachment", 'a "b"\\c é.txt'), `attachment; filename="a _b__c _.txt"; filename*=UTF-8''a%20%22b%22%5Cc%20%C3%A9.txt`);
    assert.equal(disposition("inline", "it's (1).png"), `inline; filename="it's (1).png"; filename*=UTF-8''it%27s%20%281%29.png`);
  });
});

describe("byte ranges (RFC 9110 §14)", () => {
  it("one range: bounded, open, suffix, clipped to the file", () => {
    assert.deepEqual(rangeOf("bytes=0-9", 100), { start: 0, end: 9 });
    assert.deepEqual(rangeOf("bytes=90-", 100), { start: 90, end: 99 });
    assert.deepEqual(rangeOf("bytes=-10", 100), { start: 90, end: 99 });
    assert.deepEqual(rangeOf("bytes=-1000", 100), { start: 0, end: 99 });
    assert.deepEqual(rangeOf("bytes=50-1000", 100), { start: 50, end: 99 });
  });
  it("outside the file: unsatisfiable; no range, other units, lists and nonsense: the whole file", () => {
    assert.equal(rangeOf("bytes=100-", 100), "unsatisfiable");
    assert.equal(rangeOf("bytes=-0", 100), "unsatisfiable");
    for (const h of [undefined, "", "bytes=", "bytes=-", "items=0-1", "bytes=0-1,5-6", "bytes=9-3", "bytes=a-b"])
      assert.equal(rangeOf(h, 100), "whole", String(h));
  });
});

describe("sizes in the client list", () => {
  it("bytes, then SI units with one decimal", () => {
    assert.equal(formatBytes(5), "5 B");
    assert.equal(formatBytes(999), "999 B");
    assert.equal(formatBytes(1234), "1.2 kB");
    assert.equal(formatBytes(1_234_567), "1.2 MB");
    assert.equal(formatBytes(10 * 1024 * 1024), "10.5 MB");
  });
});
