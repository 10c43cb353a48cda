// Fuzzing the stanza handlers after login: a real server (the built CLI, through TestServer)
// gets generated and mutated stanzas and nonzas from logged-in clients over TLS, with
// fast-check producing them (see parser.ts for why fast-check). The inputs are shaped like what
// clients send (message, presence and iq with the payloads Warden handles: roster, ping, disco,
// version, carbons, client management, bind, session, PEP; caps in presence; stream management, CSI, SASL and
// STARTTLS nonzas), with hostile values (odd JIDs, ids, types, h counts, long and non-ASCII
// strings) and byte-level mutations on top.
//
// A finding is: the server process exiting, an internal-server-error stream error, an error
// line in the server's log, or a ping on a separate control connection not answered within
// `hangMs` (a hang). Stream errors for bad input (not-well-formed, policy-violation, ...) are
// the expected outcome: that client logs in again and the campaign goes on.
import fc from "fast-check";
import { RawClient } from "../helpers/raw-client.js";
import type { TestServer } from "../helpers/server.js";
import { wellFormed } from "./parser.js";

const USERS = ["fuzz0", "fuzz1", "fuzz2"];
export const FUZZ_USERS = USERS;
export const fuzzPassword = (u: string) => `${u}-password`;

const jid = fc.oneof(
  fc.constantFrom(
    "fuzz0@localhost",
    "fuzz1@localhost",
    "fuzz1@localhost/r",
    "fuzz0@localhost/fuzz",
    "localhost",
    "nobody@localhost",
    "other.example",
    "user@other.example/res",
    "@localhost",
    "a@",
    "/r",
    "a@b@c",
    "é@localhost",
    "FUZZ0@LOCALHOST",
    "fuzz0@localhost/",
    "",
    "a".repeat(1100) + "@localhost",
    "fuzz0@localhost/" + "r".repeat(1100),
    "x@[::1]",
    "x@127.0.0.1",
    "\u00a0@localhost",
    "a b@localhost",
  ),
  fc.string({ maxLength: 12 }),
);
const id = fc.oneof(fc.constantFrom("1", "", "a'b", "é", "x".repeat(300)), fc.string({ maxLength: 8 }));
const str = fc.oneof(
  fc.constantFrom("", "0", "-1", "4294967296", "99999999999999999999", "NaN", "true", "é😀", "<", "&amp;", "x".repeat(2000)),
  fc.string({ maxLength: 10 }),
);
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/'/g, "&apos;");
const attr = (k: string, v: string | undefined) => (v === undefined ? "" : ` ${k}='${esc(v)}'`);
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 3 });

const NS = {
  roster: "jabber:iq:roster",
  ping: "urn:xmpp:ping",
  info: "http://jabber.org/protocol/disco#info",
  items: "http://jabber.org/protocol/disco#items",
  version: "jabber:iq:version",
  carbons: "urn:xmpp:carbons:2",
  manage: "xmpp:prosody.im/protocol/manage-clients",
  cam: "urn:xmpp:cam:0",
  bind: "urn:ietf:params:xml:ns:xmpp-bind",
  session: "urn:ietf:params:xml:ns:xmpp-session",
  sm: "urn:xmpp:sm:3",
  csi: "urn:xmpp:csi:0",
  sasl: "urn:ietf:params:xml:ns:xmpp-sasl",
  sasl2: "urn:xmpp:sasl:2",
  tls: "urn:ietf:params:xml:ns:xmpp-tls",
  delay: "urn:xmpp:delay",
  forward: "urn:xmpp:forward:0",
  receipts: "urn:xmpp:receipts",
  chatstates: "http://jabber.org/protocol/chatstates",
  muc: "http://jabber.org/protocol/muc",
  pubsub: "http://jabber.org/protocol/pubsub",
  pubsubOwner: "http://jabber.org/protocol/pubsub#owner",
  caps: "http://jabber.org/protocol/caps",
};

// PEP (XEP-0163): nodes, item ids, payloads and forms as clients send them, with hostile values.
const pepNode = fc.oneof(fc.constantFrom("urn:xmpp:avatar:data", "urn:xmpp:bookmarks:1", "eu.siacs.conversations.axolotl.devicelist", ""), str);
const pepForm = fc
  .tuple(
    fc.constantFrom("http://jabber.org/protocol/pubsub#publish-options", "http://jabber.org/protocol/pubsub#node_config", "bogus"),
    fc.constantFrom("submit", "form", "cancel", ""),
    fc.array(
      fc.tuple(
        fc.constantFrom("pubsub#access_model", "pubsub#max_items", "pubsub#persist_items", "pubsub#send_last_published_item", "pubsub#bogus", "FORM_TYPE"),
        str,
      ),
      { maxLength: 3 },
    ),
  )
  .map(
    ([ft, type, fields]) =>
      `<x xmlns='jabber:x:data'${attr("type", type)}><field var='FORM_TYPE'><value>${ft}</value></field>${fields.map(([k, v]) => `<field var='${k}'><value>${esc(v)}</value></field>`).join("")}</x>`,
  );
const pepPayload = fc.oneof(
  fc
    .tuple(pepNode, opt(id), fc.constantFrom("<geoloc xmlns='http://jabber.org/protocol/geoloc'/>", "", "<a xmlns='urn:a'/><b xmlns='urn:b'/>"), opt(pepForm))
    .map(
      ([n, i, payload, form]) =>
        `<pubsub xmlns='${NS.pubsub}'><publish${attr("node", n)}><item${attr("id", i)}>${payload}</item></publish>${form ? `<publish-options>${form}</publish-options>` : ""}</pubsub>`,
    ),
  fc
    .tuple(pepNode, opt(str), fc.array(id, { maxLength: 3 }))
    .map(
      ([n, max, ids]) =>
        `<pubsub xmlns='${NS.pubsub}'><items${attr("node", n)}${attr("max_items", max)}>${ids.map((i) => `<item${attr("id", i)}/>`).join("")}</items></pubsub>`,
    ),
  fc
    .tuple(pepNode, opt(id), opt(str))
    .map(([n, i, notify]) => `<pubsub xmlns='${NS.pubsub}'><retract${attr("node", n)}${attr("notify", notify)}><item${attr("id", i)}/></retract></pubsub>`),
  fc.tuple(pepNode, opt(pepForm)).map(([n, form]) => `<pubsub xmlns='${NS.pubsubOwner}'><configure${attr("node", n)}>${form ?? ""}</configure></pubsub>`),
  pepNode.map((n) => `<pubsub xmlns='${NS.pubsubOwner}'><delete${attr("node", n)}/></pubsub>`),
);

const rosterItem = fc
  .tuple(jid, opt(str), opt(fc.constantFrom("remove", "both", "none", "to", "from", "bogus")), fc.array(str, { maxLength: 3 }))
  .map(
    ([j, name, sub, groups]) =>
      `<item${attr("jid", j)}${attr("name", name)}${attr("subscription", sub)}>${groups.map((g) => `<group>${esc(g)}</group>`).join("")}</item>`,
  );

const iqPayload = fc.oneof(
  fc.array(rosterItem, { maxLength: 3 }).map((items) => `<query xmlns='${NS.roster}'>${items.join("")}</query>`),
  fc.constant(`<query xmlns='${NS.roster}'/>`),
  fc.constant(`<ping xmlns='${NS.ping}'/>`),
  opt(str).map((node) => `<query xmlns='${NS.info}'${attr("node", node)}/>`),
  opt(str).map((node) => `<query xmlns='${NS.items}'${attr("node", node)}/>`),
  fc.constant(`<query xmlns='${NS.version}'/>`),
  fc.constantFrom("enable", "disable").map((e) => `<${e} xmlns='${NS.carbons}'/>`),
  fc
    .tuple(
      fc.constantFrom(NS.manage, NS.cam),
      fc.constantFrom("list", "revoke"),
      opt(
        fc.oneof(
          str,
          str.map((s) => `client/${s}`),
          str.map((s) => `grant/${s}`),
          str.map((s) => `software/${s}`),
        ),
      ),
    )
    .map(([ns, op, target]) => `<${op} xmlns='${ns}'${attr("id", target)}/>`),
  opt(str).map((r) => `<bind xmlns='${NS.bind}'>${r === undefined ? "" : `<resource>${esc(r)}</resource>`}</bind>`),
  fc.constant(`<session xmlns='${NS.session}'/>`),
  pepPayload,
  fc.constant(""),
  fc.tuple(str, str).map(([n, v]) => `<${/^[a-z]+$/.test(n) ? n : "x"} xmlns='urn:fuzz:${esc(v)}'/>`),
);

const messagePayload = fc
  .array(
    fc.oneof(
      str.map((b) => `<body>${esc(b)}</body>`),
      str.map((s) => `<subject>${esc(s)}</subject>`),
      str.map((t) => `<thread>${esc(t)}</thread>`),
      fc.constant(
        `<received xmlns='${NS.carbons}'><forwarded xmlns='${NS.forward}'><message xmlns='jabber:client' to='fuzz0@localhost' from='fuzz1@localhost'><body>x</body></message></forwarded></received>`,
      ),
      fc.constant(`<sent xmlns='${NS.carbons}'><forwarded xmlns='${NS.forward}'><message xmlns='jabber:client'/></forwarded></sent>`),
      fc.constant(`<private xmlns='${NS.carbons}'/>`),
      fc.constant(`<request xmlns='${NS.receipts}'/>`),
      fc.constant(`<active xmlns='${NS.chatstates}'/>`),
      str.map((s) => `<delay xmlns='${NS.delay}' stamp='${esc(s)}'/>`),
      fc.constant(`<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>`),
    ),
    { maxLength: 3 },
  )
  .map((a) => a.join(""));

const presencePayload = fc
  .array(
    fc.oneof(
      fc.constantFrom("away", "chat", "dnd", "xa", "", "bogus").map((s) => `<show>${s}</show>`),
      str.map((s) => `<status>${esc(s)}</status>`),
      fc.oneof(fc.integer({ min: -200, max: 200 }).map(String), str).map((p) => `<priority>${esc(p)}</priority>`),
      fc.constant(`<x xmlns='${NS.muc}'/>`),
      fc
        .tuple(opt(fc.constantFrom("sha-1", "sha-256", "md5", "")), opt(str), opt(str))
        .map(([h, v, n]) => `<c xmlns='${NS.caps}'${attr("hash", h)}${attr("ver", v)}${attr("node", n)}/>`),
    ),
    { maxLength: 3 },
  )
  .map((a) => a.join(""));

const stanza = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .tuple(opt(jid), opt(jid), opt(fc.constantFrom("chat", "normal", "groupchat", "headline", "error", "bogus", "")), opt(id), messagePayload)
      .map(([to, from, type, i, p]) => `<message${attr("to", to)}${attr("from", from)}${attr("type", type)}${attr("id", i)}>${p}</message>`),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        opt(jid),
        opt(fc.constantFrom("subscribe", "subscribed", "unsubscribe", "unsubscribed", "unavailable", "probe", "error", "bogus", "")),
        opt(id),
        presencePayload,
      )
      .map(([to, type, i, p]) => `<presence${attr("to", to)}${attr("type", type)}${attr("id", i)}>${p}</presence>`),
  },
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        opt(jid),
        opt(jid),
        fc.option(fc.constantFrom("get", "set", "result", "error", "bogus", ""), { nil: undefined, freq: 8 }),
        opt(id),
        iqPayload,
        fc.boolean(),
      )
      .map(([to, from, type, i, p, two]) => `<iq${attr("to", to)}${attr("from", from)}${attr("type", type)}${attr("id", i)}>${p}${two ? p : ""}</iq>`),
  },
  // Nonzas: stream management, CSI, and (rarely: they end the stream) negotiation elements out of place.
  {
    weight: 1,
    arbitrary: fc.oneof(
      { weight: 4, arbitrary: fc.constant(`<r xmlns='${NS.sm}'/>`) },
      { weight: 4, arbitrary: fc.oneof(fc.nat().map(String), str).map((h) => `<a xmlns='${NS.sm}' h='${esc(h)}'/>`) },
      {
        weight: 4,
        arbitrary: fc
          .tuple(opt(fc.constantFrom("true", "1", "false", "bogus")), opt(str))
          .map(([r, m]) => `<enable xmlns='${NS.sm}'${attr("resume", r)}${attr("max", m)}/>`),
      },
      { weight: 2, arbitrary: fc.tuple(str, str).map(([h, p]) => `<resume xmlns='${NS.sm}' h='${esc(h)}' previd='${esc(p)}'/>`) },
      { weight: 4, arbitrary: fc.constantFrom("active", "inactive").map((s) => `<${s} xmlns='${NS.csi}'/>`) },
      { weight: 1, arbitrary: fc.constant(`<starttls xmlns='${NS.tls}'/>`) },
      { weight: 1, arbitrary: str.map((m) => `<auth xmlns='${NS.sasl}' mechanism='${esc(m)}'>=</auth>`) },
      { weight: 1, arbitrary: str.map((m) => `<authenticate xmlns='${NS.sasl2}' mechanism='${esc(m)}'/>`) },
    ),
  },
);

const TOKENS = [
  "<",
  ">",
  "/>",
  "</",
  "'",
  '"',
  "&",
  "&amp;",
  "<![CDATA[",
  "]]>",
  "<!--",
  "<?",
  "xmlns='x'",
  "é",
  "😀",
  "\u0000",
  " ",
  "<a>",
  "</iq>",
  "<stream:stream>",
];

/** Well-formed stanzas and nonzas: the handlers are the target. */
export const fuzzStanza = stanza;
/** A stanza with byte-level edits: usually ends the stream (not-well-formed), or leaves an element open. */
export const fuzzMutant = fc
  .tuple(stanza, fc.array(fc.tuple(fc.nat(), fc.nat({ max: 6 }), fc.constantFrom(...TOKENS)), { minLength: 1, maxLength: 2 }))
  .map(([s, edits]) => {
    for (const [pos, len, tok] of edits) {
      const i = pos % (s.length + 1);
      s = s.slice(0, i) + tok + s.slice(i + len);
    }
    return wellFormed(s);
  });

export interface StanzaFuzzFinding {
  kind: "exit" | "internal-error" | "error-log" | "hang";
  detail: string;
  inputs: string[];
}
export interface StanzaFuzzResult {
  inputs: number;
  reconnects: number;
  streamErrors: Record<string, number>;
  findings: StanzaFuzzFinding[];
  seconds: number;
}

/** A fuzzing client: logs in (fresh resource each time), sends a batch, then proves the stream with a ping. */
class Lane {
  c: RawClient | undefined;
  constructor(
    private readonly server: TestServer,
    private readonly user: string,
  ) {}
  async ready(): Promise<RawClient> {
    if (this.c && !this.c.closed) return this.c;
    const c = await RawClient.connect(this.server.c2sPort);
    await c.login(this.user, fuzzPassword(this.user), `fz${Math.random().toString(36).slice(2, 8)}`);
    this.c = c;
    return c;
  }
}

/**
 * Drives `server` with generated inputs for `ms` milliseconds (or `maxInputs`), from `lanes`
 * clients in parallel, `batch` inputs per write round. Stops at the first finding.
 */
export async function fuzzStanzas(
  server: TestServer,
  opts: { ms: number; maxInputs?: number; lanes?: number; batch?: number; hangMs?: number; seed?: number; onProgress?: (r: StanzaFuzzResult) => void },
): Promise<StanzaFuzzResult> {
  const t0 = Date.now();
  const res: StanzaFuzzResult = { inputs: 0, reconnects: 0, streamErrors: {}, findings: [], seconds: 0 };
  const hangMs = opts.hangMs ?? 5000;
  const batch = opts.batch ?? 20;
  const lanes = Array.from({ length: opts.lanes ?? 3 }, (_, i) => new Lane(server, USERS[i % USERS.length]!));
  const control = await RawClient.connect(server.c2sPort);
  await control.login("fuzz2", fuzzPassword("fuzz2"), "control");
  const logStart = server.logs.length;
  let seed = opts.seed ?? Date.now() & 0x7fffffff;
  let pingN = 0,
    lastReport = Date.now();
  const pingOn = async (c: RawClient, timeoutMs = hangMs): Promise<boolean> => {
    const pid = `fzp${pingN++}`;
    c.send(`<iq type='get' id='${pid}' to='localhost'><ping xmlns='${NS.ping}'/></iq>`);
    try {
      await c.waitFor(new RegExp(`id=['"]${pid}['"]`), timeoutMs);
      return true;
    } catch {
      return false;
    }
  };
  const record = (f: StanzaFuzzFinding) => {
    res.findings.push(f);
  };

  const runLane = async (lane: Lane) => {
    while (Date.now() - t0 < opts.ms && (opts.maxInputs === undefined || res.inputs < opts.maxInputs) && res.findings.length === 0) {
      let c: RawClient;
      try {
        c = await lane.ready();
      } catch (err) {
        if (server.proc?.exitCode !== null) {
          record({ kind: "exit", detail: `server exited (${server.proc?.exitCode})`, inputs: [] });
          return;
        }
        throw err;
      }
      // Well-formed stanzas, and in one batch of five a mutant at the end: a mutant usually ends
      // the stream, and the stanzas before it should have been handled first.
      const s0 = seed++;
      const inputs = fc.sample(fuzzStanza, { numRuns: batch, seed: s0 });
      const mutant = s0 % 5 === 0;
      if (mutant) inputs.push(...fc.sample(fuzzMutant, { numRuns: 1, seed: s0 }));
      c.clear();
      c.send(inputs.join(""));
      res.inputs += inputs.length;
      // The batch is done when the ping after it is answered or the stream ended.
      const ok = c.closed ? false : await pingOn(c, mutant ? Math.min(1000, hangMs) : hangMs);
      const err = /<stream:error>.*?<([a-z-]+) xmlns=.urn:ietf:params:xml:ns:xmpp-streams/s.exec(c.received)?.[1];
      if (err) {
        res.streamErrors[err] = (res.streamErrors[err] ?? 0) + 1;
        res.reconnects++;
        c.close();
        if (err === "internal-server-error") record({ kind: "internal-error", detail: c.received.slice(-2000), inputs });
      } else if (!ok && !c.closed) {
        // A mutant may leave an element or comment open: the ping is then inside it, and the
        // server rightly waits for the rest. After well-formed input an answer must come.
        if (!mutant) record({ kind: "hang", detail: `no answer to a ping within ${hangMs} ms after the batch`, inputs });
        res.reconnects++;
        c.close();
      } else if (c.closed) {
        res.reconnects++;
      }
      const errorLogs = server.logs.slice(logStart).filter((l) => Number(l.level) >= 50);
      if (errorLogs.length) {
        record({ kind: "error-log", detail: JSON.stringify(errorLogs.slice(0, 3)), inputs });
        return;
      }
      if (server.proc?.exitCode !== null) {
        record({ kind: "exit", detail: `server exited (${server.proc?.exitCode})`, inputs });
        return;
      }
      if (Date.now() - lastReport > 15_000) {
        lastReport = Date.now();
        opts.onProgress?.({ ...res, seconds: (Date.now() - t0) / 1000 });
      }
      if (res.findings.length) return;
      // Somebody else must be served all along.
      if (!(await pingOn(control))) {
        record({ kind: "hang", detail: "the control connection's ping was not answered", inputs });
        return;
      }
      control.clear();
    }
  };
  await Promise.all(lanes.map(runLane));
  for (const l of lanes) l.c?.close();
  control.close();
  res.seconds = (Date.now() - t0) / 1000;
  return res;
}
