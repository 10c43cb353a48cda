// Parses one stored, serialised stanza back into an Element (offline messages, SM queues).
import { SaxesParser } from "saxes";
import { Element } from "./element.js";

export function parseStanza(xml: string): Element | undefined {
  const p = new SaxesParser({ xmlns: true, fragment: true, position: false });
  const stack: Element[] = [];
  // Each open element's namespace, so that no element walks its ancestors for it.
  const nsStack: string[] = [];
  let root: Element | undefined;
  let failed = false;
  p.on("error", () => {
    failed = true;
  });
  p.on("opentag", (tag) => {
    const attrs: Record<string, string> = {};
    for (const key in tag.attributes) {
      const a = tag.attributes[key]!;
      if (a.name === "xmlns" || a.prefix === "xmlns") continue;
      attrs[a.name] = a.value;
    }
    const el = new Element(tag.local, attrs);
    const parent = stack[stack.length - 1];
    if (!parent || nsStack[nsStack.length - 1] !== tag.uri) el.attrs.xmlns = tag.uri;
    if (parent) parent.cnode(el);
    else root = el;
    stack.push(el);
    nsStack.push(tag.uri);
  });
  p.on("closetag", () => {
    stack.pop();
    nsStack.pop();
  });
  p.on("text", (t) => {
    stack[stack.length - 1]?.t(t);
  });
  try {
    p.write(xml).close();
  } catch {
    return undefined;
  }
  return failed ? undefined : root;
}
