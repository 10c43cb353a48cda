// Reading an archive query (XEP-0313 §4): the data form's fields (with, start, end, and the
// #extended before-id, after-id, ids), RSM paging (XEP-0059 §2: max, after, before, an empty
// <before/> for the last page) and <flip-page/>. Anything else is refused with the XEP's error
// before the archive is read.
import type { Element } from "../../xml/element.js";
import { parseJid } from "../../core/jid.js";
import { StanzaError, stanzaErrors } from "../../core/errors.js";
import type { ArchiveQuery } from "../../storage/types.js";

export const NS_MAM = "urn:xmpp:mam:2";
const NS_DATA = "jabber:x:data";
const NS_RSM = "http://jabber.org/protocol/rsm";
/** A page when the client names no size (Prosody's default is 20; fewer round trips here). */
const DEFAULT_MAX = 50;

export interface ParsedQuery {
  queryid?: string;
  flip: boolean;
  q: ArchiveQuery;
}

const bad = (text: string) => new StanzaError(stanzaErrors.mamBadQuery, text);

// XEP-0082 DateTime: CCYY-MM-DDThh:mm:ss[.sss]TZD, the zone required.
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function dateTime(name: string, value: string): number {
  const ms = DATETIME.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) throw bad(`'${name}' must be a XEP-0082 date and time, like 2024-01-31T12:00:00Z`);
  return ms;
}

function values(field: Element): string[] {
  return field.getChildren("value").map((v) => v.getText());
}

function single(field: Element, name: string): string {
  const v = values(field);
  if (v.length !== 1 || v[0] === "") throw bad(`'${name}' needs exactly one value`);
  return v[0]!;
}

function readForm(form: Element, q: ArchiveQuery, cap: number): void {
  for (const field of form.getChildren("field")) {
    const name = field.attrs.var ?? "";
    switch (name) {
      case "FORM_TYPE":
        if (single(field, name) !== NS_MAM) throw bad(`FORM_TYPE must be ${NS_MAM}`);
        break;
      case "with": {
        const jid = parseJid(single(field, name));
        if (!jid) throw new StanzaError(stanzaErrors.jidMalformed, "'with' is not a valid JID");
        q.with = jid.bareString;
        if (jid.resource !== undefined) q.withResource = jid.resource;
        break;
      }
      case "start":
        q.start = dateTime(name, single(field, name));
        break;
      case "end":
        q.end = dateTime(name, single(field, name));
        break;
      case "after-id":
        q.afterId = single(field, name);
        break;
      case "before-id":
        q.beforeId = single(field, name);
        break;
      case "ids": {
        const ids = values(field);
        if (ids.length === 0 || ids.length > cap || ids.some((i) => i === "")) throw bad(`'ids' takes from 1 to ${cap} ids`);
        q.ids = ids;
        break;
      }
      default:
        throw new StanzaError(stanzaErrors.mamUnknownField, `Unknown query field '${name.slice(0, 100)}'`);
    }
  }
}

function readRsm(set: Element, q: ArchiveQuery, cap: number): void {
  for (const el of set.elements()) {
    const text = el.getText();
    switch (el.name) {
      case "max":
        if (!/^\d{1,9}$/.test(text)) throw bad("<max/> must be a whole number");
        q.max = Math.min(Number(text), cap);
        break;
      case "after":
        if (text === "") throw bad("<after/> needs an id");
        q.pageAfter = text;
        break;
      case "before":
        q.fromEnd = true;
        if (text !== "") q.pageBefore = text;
        break;
      case "index":
        throw new StanzaError(stanzaErrors.featureNotImplemented, "Paging by index is not supported: use <after/> or <before/>");
      default:
        throw bad(`Unknown RSM element <${el.name.slice(0, 100)}/>`);
    }
  }
  if (q.pageAfter !== undefined && q.fromEnd) throw bad("<after/> and <before/> cannot be combined: use after-id and before-id");
}

/** The query, or a StanzaError naming what is wrong with it. `cap` is max_archive_query_results. */
export function parseQuery(query: Element, cap: number): ParsedQuery {
  const q: ArchiveQuery = { max: Math.min(DEFAULT_MAX, cap) };
  for (const el of query.elements()) {
    if (el.is("x", NS_DATA)) {
      if (el.attrs.type !== undefined && el.attrs.type !== "submit") throw bad("The form must be of type 'submit'");
      readForm(el, q, cap);
    } else if (el.is("set", NS_RSM)) readRsm(el, q, cap);
    else if (!el.is("flip-page", NS_MAM)) throw bad(`Unknown element <${el.name.slice(0, 100)}/> in the query`);
  }
  if (q.start !== undefined && q.end !== undefined && q.start > q.end) throw bad("'start' is after 'end'");
  // Counting a big archive reads its whole index range (11 ms for 100,000 messages): only
  // when asked the RSM way, <max>0</max> (XEP-0059 §2.7); the count is optional otherwise.
  if (q.max === 0) q.count = true;
  const parsed: ParsedQuery = { flip: query.getChild("flip-page", NS_MAM) !== undefined, q };
  if (query.attrs.queryid !== undefined) parsed.queryid = query.attrs.queryid;
  return parsed;
}
