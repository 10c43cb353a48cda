// Assertions on what the server sent a RawClient: exact stream errors, SASL failures and
// stanza errors, parsed as XML (see xml.ts) rather than matched as text.
import assert from "node:assert/strict";
import type { RawClient } from "./raw-client.js";
import { NS_SASL, NS_STANZAS, NS_STREAM, NS_STREAMS, parseServerOutput, show, type StreamItem, type XmlEl } from "./xml.js";

/** The defined condition of an error element: its one child in `ns` that is not <text/>. */
function conditionOf(err: XmlEl, ns: string): string {
  const conds = err.children.filter((c) => c.ns === ns && c.name !== "text");
  assert.equal(conds.length, 1, `expected exactly one defined condition in ${show(err)}`);
  return conds[0]!.name;
}

function findStreamError(items: StreamItem[]): number {
  return items.findIndex((i) => i.kind === "element" && i.el.name === "error" && i.el.ns === NS_STREAM);
}

/**
 * Asserts that the server sent <stream:error><CONDITION/></stream:error>, then
 * </stream:stream>, and then closed the connection. Returns the error element.
 */
export async function expectStreamError(c: RawClient, condition: string, timeoutMs = 5000): Promise<XmlEl> {
  const items = await c
    .waitUntil(
      (text) => {
        const items = parseServerOutput(text);
        return findStreamError(items) >= 0 ? items : undefined;
      },
      `a stream error (<${condition}/>)`,
      timeoutMs,
    )
    .catch((err: Error) => {
      throw new Error(`expected stream error <${condition}/>: ${err.message}`);
    });
  const i = findStreamError(items);
  const err = (items[i] as { el: XmlEl }).el;
  assert.equal(conditionOf(err, NS_STREAMS), condition, `wrong stream error: ${show(err)}`);
  // Nothing but the closing tag may follow a stream error (RFC 6120 §4.9.1.1).
  await c.waitClosed(timeoutMs).catch(() => {
    throw new Error(`the server did not close the connection after the stream error ${show(err)}`);
  });
  const after = parseServerOutput(c.received).slice(i + 1);
  assert.deepEqual(
    after.map((x) => x.kind),
    ["close"],
    `expected only </stream:stream> after the stream error, got ${JSON.stringify(after)}`,
  );
  return err;
}

/** Asserts that the server answered with a stream header before anything else (RFC 6120 §4.9.1.2). */
export function expectHeaderFirst(c: RawClient): StreamItem & { kind: "header" } {
  const items = parseServerOutput(c.received);
  const first = items[0];
  assert.ok(first && first.kind === "header", `expected a stream header first, got ${c.received}`);
  assert.equal(first.ns, NS_STREAM);
  return first;
}

/** Asserts a SASL <failure><CONDITION/></failure>; the stream stays open (RFC 6120 §6.4.5). */
export async function expectSaslFailure(c: RawClient, condition: string, timeoutMs = 8000): Promise<XmlEl> {
  const el = await c.waitUntil(
    (text) =>
      parseServerOutput(text).flatMap((i) =>
        i.kind === "element" && i.el.ns === NS_SASL && (i.el.name === "failure" || i.el.name === "success") ? [i.el] : [],
      )[0],
    `a SASL <failure/> (<${condition}/>)`,
    timeoutMs,
  );
  assert.equal(el.name, "failure", `expected a SASL failure <${condition}/>, got ${show(el)}`);
  assert.equal(conditionOf(el, NS_SASL), condition, `wrong SASL failure: ${show(el)}`);
  assert.equal(c.closed, false, "a SASL failure must not close the stream");
  return el;
}

/** Waits for a top-level element matching `pred` and returns it. */
export async function waitForElement(c: RawClient, pred: (el: XmlEl) => boolean, what = "an element", timeoutMs = 5000): Promise<XmlEl> {
  return c.waitUntil((text) => parseServerOutput(text).flatMap((i) => (i.kind === "element" && pred(i.el) ? [i.el] : []))[0], what, timeoutMs);
}

/**
 * Waits for the error reply to stanza `id` (a `name` stanza, type='error') and asserts its
 * <error type='TYPE'><CONDITION xmlns='...stanzas'/></error>. With `id` undefined, waits for
 * the first error `name` stanza without an id.
 */
export async function expectStanzaError(
  c: RawClient,
  name: "iq" | "message" | "presence",
  id: string | undefined,
  type: string,
  condition: string,
  timeoutMs = 5000,
): Promise<XmlEl> {
  const reply = await waitForElement(
    c,
    (el) => el.name === name && el.attrs.id === id && el.attrs.type !== undefined,
    `the reply to <${name} id=${id}>`,
    timeoutMs,
  );
  assert.equal(reply.attrs.type, "error", `expected an error reply, got ${show(reply)}`);
  const err = reply.children.find((ch) => ch.name === "error");
  assert.ok(err, `no <error/> in ${show(reply)}`);
  assert.equal(err.attrs.type, type, `wrong error type in ${show(reply)}`);
  assert.equal(conditionOf(err, NS_STANZAS), condition, `wrong stanza error in ${show(reply)}`);
  assert.equal(c.closed, false, "a stanza error must not close the stream");
  return reply;
}

/** Sends an XMPP ping to the server and waits for the result: proves the stream still works. */
export async function ping(c: RawClient, id = "ping-" + Math.random().toString(36).slice(2), timeoutMs = 5000): Promise<void> {
  c.send(`<iq type='get' id='${id}' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`);
  const reply = await waitForElement(c, (el) => el.name === "iq" && el.attrs.id === id, `the pong for ${id}`, timeoutMs);
  assert.equal(reply.attrs.type, "result", `ping failed: ${show(reply)}`);
}
