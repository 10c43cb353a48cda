// The fuzz harness in CI (issue 10 §1): every input that ever broke something, replayed from
// fuzz-corpus.json, then a bounded slice of each campaign (`npm run fuzz` runs the long one):
// the stream parser in-process and the stanza handlers of a real server after login. The seeds
// are random per run and printed, so a failure here can be replayed with `--seed`.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { checkCase, fuzzParser, type ParserCase } from "../fuzz/parser.js";
import { fuzzStanzas, FUZZ_USERS, fuzzPassword } from "../fuzz/stanzas.js";
import { startServer, type TestServer } from "../helpers/server.js";
import { RawClient } from "../helpers/raw-client.js";

interface ParserEntry {
  note: string;
  input?: string;
  prefix?: string;
  repeat?: string;
  times?: number;
  suffix?: string;
  cuts?: number[];
  chunk?: number;
  maxStanzaSize: number;
  maxDepth: number;
  framed: boolean;
  /** The error the input must end with ("none": no error; "any": whatever, as long as the checks hold). */
  expect: string;
}
interface StanzaEntry {
  note: string;
  xml: string;
  expect: "answered" | "closed" | "unanswered" | "any";
}

const corpus = JSON.parse(readFileSync(join(import.meta.dirname, "fuzz-corpus.json"), "utf8")) as { parser: ParserEntry[]; stanzas: StanzaEntry[] };

function toCase(e: ParserEntry): ParserCase {
  const input = e.input ?? (e.prefix ?? "") + (e.repeat ?? "").repeat(e.times ?? 0) + (e.suffix ?? "");
  const cuts = e.cuts ?? [];
  if (e.chunk) for (let i = e.chunk; i < input.length; i += e.chunk) cuts.push(i);
  return { input, cuts, maxStanzaSize: e.maxStanzaSize, maxDepth: e.maxDepth, framed: e.framed };
}

describe("fuzz corpus: the stream parser", () => {
  for (const e of corpus.parser) {
    test(e.note, () => {
      // A bound that separates an answer from a hang: the quadratic parser took 80 s on the first.
      const out = checkCase(toCase(e), 5000);
      if (e.expect === "none") assert.equal(out.error, undefined, `unexpected error ${out.error}`);
      else if (e.expect !== "any") assert.equal(out.error, e.expect);
    });
  }
});

describe("fuzz corpus and a bounded campaign: the stanza handlers after login", () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ login_failure_limit: 1_000_000, offline_message_limit: 100 });
    for (const u of FUZZ_USERS) await server.addUser(u, fuzzPassword(u));
  });
  after(async () => {
    await server?.stop();
  });

  for (const e of corpus.stanzas) {
    test(e.note, async () => {
      const c = await RawClient.connect(server.c2sPort);
      try {
        await c.login("fuzz0", fuzzPassword("fuzz0"), `corpus${Math.random().toString(36).slice(2, 8)}`);
        c.clear();
        c.send(e.xml);
        c.send("<iq type='get' id='corpus-ping' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
        const answered = await c.waitFor(/id=['"]corpus-ping['"]/, 3000).then(
          () => true,
          () => false,
        );
        assert.doesNotMatch(c.received, /internal-server-error/, `the server failed on this input: ${c.received.slice(0, 500)}`);
        if (e.expect === "answered") assert.ok(answered, `no answer after the input; got ${c.received.slice(0, 500)}`);
        if (e.expect === "closed") assert.ok(!answered && c.closed, `expected the stream to be closed; got ${c.received.slice(0, 500)}`);
        if (e.expect === "unanswered") assert.ok(!answered && !c.closed, "the ping should be inside the still-open element");
      } finally {
        c.close();
      }
      const errors = server.logs.filter((l) => Number(l.level) >= 50);
      assert.deepEqual(errors, [], "error lines in the server log");
      // Whatever that connection did, the server still serves others.
      const probe = await RawClient.connect(server.c2sPort);
      try {
        await probe.login("fuzz2", fuzzPassword("fuzz2"), `probe${Math.random().toString(36).slice(2, 8)}`);
      } finally {
        probe.close();
      }
    });
  }

  test("bounded campaign: 20 s of generated and mutated stanzas from 3 clients, no crash, hang or error log", async (t) => {
    const seed = Date.now() & 0x7fffffff;
    const r = await fuzzStanzas(server, { ms: 20_000, lanes: 3, hangMs: 5000, seed });
    t.diagnostic(`seed ${seed}: ${r.inputs} stanzas in ${r.seconds.toFixed(1)} s, ${r.reconnects} reconnects, stream errors ${JSON.stringify(r.streamErrors)}`);
    assert.ok(r.inputs > 0, "no input was sent");
    assert.deepEqual(
      r.findings.map((f) => `${f.kind}: ${f.detail.slice(0, 300)} after ${JSON.stringify(f.inputs).slice(0, 2000)}`),
      [],
      `findings (seed ${seed})`,
    );
  });
});

test("bounded campaign: 15 s of the stream parser in-process (soup, mutants, oracle), no finding", (t) => {
  const seed = Date.now() & 0x7fffffff;
  const r = fuzzParser({ ms: 15_000, seed });
  t.diagnostic(`seed ${seed}: ${r.runs} inputs`);
  assert.ok(r.runs > 0);
  assert.equal(r.finding, undefined, `finding (replay with seed ${seed}): ${JSON.stringify(r.finding, null, 1)?.slice(0, 3000)}`);
});
