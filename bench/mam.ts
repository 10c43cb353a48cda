// The message archive (XEP-0313): one account's archive of 100,000 messages, filled directly
// through the storage API (ArchiveStore.append, the server's own code from dist/), then paged
// over a real client connection: a full forward sync of the whole archive in pages of
// max_archive_query_results (250), then PAGES random pages of 50 messages (RSM <after/>
// a random id of the archive; one in four filtered by 'with', one in four from a random
// 'start' time instead; every tenth the last page, <before/>), one after the other. Latency is the query's send → its <fin/> (all 50 <result/>
// messages read). Target: p99 < 20 ms for a 50-message page of a 100,000-message archive.
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { performance } from "node:perf_hooks";
import { ROOT } from "../test/helpers/server.js";
import { Conn, type Account, type Target } from "./load/xmpp-client.js";

export const MAM_ACCOUNT: Account = { user: "benchmam", password: "pw-benchmam" };
const MESSAGES = 100_000;
const PEERS = 20;
const PAGE = 50;
const PAGES = 300;
const WARMUP = 20;

export interface MamResult {
  messages: number;
  fillSeconds: number;
  fillPerSecond: number;
  fullSyncPages: number;
  fullSyncMessages: number;
  fullSyncSeconds: number;
  pages: number;
  pageSize: number;
  p50ms: number;
  p99ms: number;
  maxMs: number;
  wrongAnswers: number;
  firstWrongAnswer?: string;
  target: string;
  met: boolean;
}

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const percentile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

/** Fills the archive through the built storage code; returns the ids in order and the first message's time. */
async function fill(dataPath: string): Promise<{ ids: string[]; t0: number }> {
  const dist = (p: string) => pathToFileURL(join(ROOT, "dist", p)).href;
  const { openStorage } = (await import(dist("storage/index.js"))) as typeof import("../src/storage/index.js");
  const { randomId } = (await import(dist("core/random.js"))) as typeof import("../src/core/random.js");
  const storage = await openStorage({ backend: "sqlite", path: join(dataPath, "warden.sqlite") });
  const ids: string[] = [];
  const me = `${MAM_ACCOUNT.user}@localhost`;
  const t0 = Date.now() - MESSAGES * 1000;
  try {
    for (let i = 0; i < MESSAGES; i++) {
      const peer = `peer${i % PEERS}@localhost`;
      const out = i % 2 === 0;
      const id = randomId(18);
      const body = `Message ${i}: a line of ordinary chat, about as long as most of them are.`;
      const stanza = `<message xmlns="jabber:client" from="${out ? me : peer}/phone" to="${out ? peer : me}/laptop" type="chat" id="m${i}"><body>${body}</body><origin-id xmlns="urn:xmpp:sid:0" id="o${i}"/></message>`;
      await storage.archive.append(MAM_ACCOUNT.user, { id, with: peer, withResource: "phone", at: t0 + i * 1000, stanza });
      ids.push(id);
    }
  } finally {
    await storage.close();
  }
  return { ids, t0 };
}

function mamQuery(id: string, inner: string): string {
  return `<iq type='set' id='${id}'><query xmlns='urn:xmpp:mam:2' queryid='${id}'>${inner}</query></iq>`;
}
const set = (max: number, rest = "") => `<set xmlns='http://jabber.org/protocol/rsm'><max>${max}</max>${rest}</set>`;
const form = (field: string, value: string) =>
  `<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field><field var='${field}'><value>${value}</value></field></x>`;

/** Sends a query and reads up to its <fin/>: the number of results, the last id, complete. */
async function page(conn: Conn, id: string, inner: string): Promise<{ results: number; last?: string; complete: boolean; text: string }> {
  conn.write(mamQuery(id, inner));
  const { text } = await conn.expect(`mam ${id}`, "</fin></iq>", "</iq>");
  const results = text.split("<result ").length - 1;
  const last = /<last>([^<]+)<\/last>/.exec(text)?.[1];
  return { results, last, complete: /<fin [^>]*complete="true"/.test(text), text };
}

export async function mamBench(target: Target, dataPath: string): Promise<MamResult> {
  const tf = performance.now();
  const { ids, t0 } = await fill(dataPath);
  const fillSeconds = (performance.now() - tf) / 1000;

  const { conn } = await Conn.sasl2(target, MAM_ACCOUNT, { mechanism: "PLAIN" }, { clientId: "bench-mam", bindTag: "m" });
  let wrongAnswers = 0;
  let firstWrongAnswer: string | undefined;
  const wrong = (what: string) => {
    wrongAnswers++;
    firstWrongAnswer ??= what.slice(0, 400);
  };
  const lat: number[] = [];
  let syncPages = 0,
    syncMessages = 0,
    syncSeconds = 0;
  try {
    // A second device's full sync: forward from the start, the largest pages the server gives.
    const ts = performance.now();
    let after: string | undefined;
    for (;;) {
      const r = await page(conn, `s${syncPages}`, set(1000, after ? `<after>${after}</after>` : ""));
      syncPages++;
      syncMessages += r.results;
      if (r.complete || !r.last) break;
      after = r.last;
    }
    syncSeconds = (performance.now() - ts) / 1000;
    if (syncMessages !== MESSAGES) wrong(`full sync read ${syncMessages} messages, not ${MESSAGES}`);

    for (let n = 0; n < WARMUP + PAGES; n++) {
      const i = Math.floor(Math.random() * (ids.length - PAGE * PEERS - 1));
      const after = set(PAGE, `<after>${ids[i]}</after>`);
      const inner =
        n % 10 === 0
          ? set(PAGE, "<before/>")
          : n % 4 === 0
            ? form("with", `peer${n % PEERS}@localhost`) + after
            : n % 4 === 1
              ? form("start", new Date(t0 + i * 1000).toISOString()) + set(PAGE)
              : after;
      const s = performance.now();
      const r = await page(conn, `p${n}`, inner);
      const e = performance.now();
      if (n >= WARMUP) lat.push(e - s);
      if (r.results !== PAGE) wrong(`page p${n}: ${r.results} results: ${r.text.slice(-400)}`);
    }
  } finally {
    await conn.closeAndWait();
  }
  lat.sort((a, b) => a - b);
  const p99ms = round(percentile(lat, 0.99), 2);
  const out: MamResult = {
    messages: MESSAGES,
    fillSeconds: round(fillSeconds, 1),
    fillPerSecond: Math.round(MESSAGES / fillSeconds),
    fullSyncPages: syncPages,
    fullSyncMessages: syncMessages,
    fullSyncSeconds: round(syncSeconds, 2),
    pages: lat.length,
    pageSize: PAGE,
    p50ms: round(percentile(lat, 0.5), 2),
    p99ms,
    maxMs: round(lat[lat.length - 1] ?? NaN, 2),
    wrongAnswers,
    target: "p99 < 20 ms",
    met: p99ms < 20 && wrongAnswers === 0,
  };
  if (firstWrongAnswer) out.firstWrongAnswer = firstWrongAnswer;
  return out;
}
