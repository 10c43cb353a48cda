// Entity capabilities (XEP-0115) for PEP's "+notify" filtering (XEP-0163 §4.2, §4.4): a
// client's presence carries <c hash ver node/>; an unknown `ver` is looked up once with
// disco#info to the full JID that sent it (§6.3), the answer's verification string is hashed
// (§5.1, §5.4) and compared with `ver`, and only a verified answer is cached, by `ver`, bounded.
// Nothing here is per session but the queries in flight; the caller keeps the result.
import { createHash } from "node:crypto";
import { x, type Element } from "../../xml/element.js";
import { randomId } from "../../core/random.js";
import type { Server } from "../../core/server.js";
import type { Session } from "../../core/session.js";

export const NS_CAPS = "http://jabber.org/protocol/caps";
const NS_INFO = "http://jabber.org/protocol/disco#info";
const HASHES: Record<string, string> = { "sha-1": "sha1", "sha-256": "sha256", "sha-512": "sha512" };
const CACHE_SIZE = 1000;
const MAX_NOTIFY = 256;
const QUERY_TIMEOUT_MS = 10_000;
// Distinct unknown vers being asked at once, server-wide: a client changing its caps in a loop
// must not make the server hold thousands of queries; past this, a new ver waits for a later presence.
const MAX_IN_FLIGHT = 200;

const octets = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** XEP-0115 §5.1's verification string of a disco#info answer, or undefined when §5.4 says it is unusable. */
export function verificationString(query: Element): string | undefined {
  const identities = query
    .getChildren("identity")
    .map((i) => `${i.attrs.category ?? ""}/${i.attrs.type ?? ""}/${i.attrs["xml:lang"] ?? ""}/${i.attrs.name ?? ""}`);
  const features = query.getChildren("feature").map((f) => f.attrs.var ?? "");
  if (new Set(identities).size !== identities.length || new Set(features).size !== features.length) return undefined;
  let s =
    identities
      .sort(octets)
      .map((i) => i + "<")
      .join("") +
    features
      .sort(octets)
      .map((f) => f + "<")
      .join("");
  const forms: Array<{ type: string; text: string }> = [];
  for (const form of query.getChildren("x", "jabber:x:data")) {
    const fields = form.getChildren("field");
    const types = fields.filter((f) => f.attrs.var === "FORM_TYPE");
    if (types.length === 0) continue; // forms without FORM_TYPE are ignored (§5.4 3.6)
    const typeValues = types[0]!.getChildren("value");
    if (types.length > 1 || typeValues.length !== 1 || types[0]!.attrs.type !== "hidden") return undefined;
    const type = typeValues[0]!.getText();
    const rest = fields
      .filter((f) => f.attrs.var !== "FORM_TYPE")
      .sort((a, b) => octets(a.attrs.var ?? "", b.attrs.var ?? ""))
      .map(
        (f) =>
          `${f.attrs.var ?? ""}<` +
          f
            .getChildren("value")
            .map((v) => v.getText())
            .sort(octets)
            .map((v) => v + "<")
            .join(""),
      );
    forms.push({ type, text: `${type}<${rest.join("")}` });
  }
  if (new Set(forms.map((f) => f.type)).size !== forms.length) return undefined;
  s += forms
    .sort((a, b) => octets(a.type, b.type))
    .map((f) => f.text)
    .join("");
  return s;
}

/** The nodes of "+notify" features in a disco#info answer (XEP-0163 §4.4). */
function notifyNodes(query: Element): Set<string> {
  const out = new Set<string>();
  for (const f of query.getChildren("feature")) {
    const v = f.attrs.var ?? "";
    if (v.endsWith("+notify") && out.size < MAX_NOTIFY) out.add(v.slice(0, -"+notify".length));
  }
  return out;
}

export interface Caps {
  /** The +notify nodes of the client behind this <c/>, asking it when its `ver` is unknown; undefined when unknown or unverifiable. */
  interest(session: Session, c: Element): Promise<Set<string> | undefined>;
}

export function capsResolver(server: Server): Caps {
  const cache = new Map<string, Set<string>>();
  const inFlight = new Map<string, Promise<Set<string> | undefined>>();
  // Answers to our queries, by "<full JID> <iq id>": only that session's answer counts.
  const waiting = new Map<string, (answer: Element | undefined) => void>();

  server.bus.on(
    "iq/client",
    ({ stanza, origin }) => {
      const type = stanza.attrs.type;
      if (!origin?.jid || (type !== "result" && type !== "error")) return undefined;
      const key = `${origin.jid.toString()} ${stanza.attrs.id ?? ""}`;
      const done = waiting.get(key);
      if (!done) return undefined;
      waiting.delete(key);
      done(type === "result" ? stanza.getChild("query", NS_INFO) : undefined);
      return true;
    },
    "first",
  );

  const ask = (session: Session, node: string): Promise<Element | undefined> =>
    new Promise((resolve) => {
      const id = `caps-${randomId(9)}`;
      const key = `${session.jid!.toString()} ${id}`;
      const timer = setTimeout(() => {
        waiting.delete(key);
        resolve(undefined);
      }, QUERY_TIMEOUT_MS);
      timer.unref();
      waiting.set(key, (answer) => {
        clearTimeout(timer);
        resolve(answer);
      });
      session.send(x("iq", { type: "get", id, from: server.config.domain, to: session.jid!.toString() }, x("query", { xmlns: NS_INFO, node })));
    });

  const lookUp = async (session: Session, c: Element, ver: string, algo: string): Promise<Set<string> | undefined> => {
    const answer = await ask(session, `${c.attrs.node ?? ""}#${ver}`);
    const s = answer && verificationString(answer);
    if (s === undefined || createHash(algo).update(s, "utf8").digest("base64") !== ver) return undefined;
    const nodes = notifyNodes(answer!);
    if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
    cache.set(ver, nodes);
    return nodes;
  };

  return {
    async interest(session, c) {
      const ver = c.attrs.ver;
      const algo = HASHES[c.attrs.hash ?? ""];
      // Legacy caps (no hash) cannot be verified: ignored, as §8.4 permits.
      if (!ver || !algo || !session.jid) return undefined;
      const known = cache.get(ver);
      if (known) return known;
      let pending = inFlight.get(ver);
      if (!pending) {
        if (inFlight.size >= MAX_IN_FLIGHT) return undefined;
        pending = lookUp(session, c, ver, algo).finally(() => inFlight.delete(ver));
        inFlight.set(ver, pending);
      }
      return pending;
    },
  };
}
