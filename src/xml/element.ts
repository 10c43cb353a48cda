// A small XML element type. Hand-written rather than ltx's because our parser (saxes) resolves
// namespaces, so an element carries its namespace directly (attrs.xmlns) instead of a prefix
// chain that has to be walked on every lookup.

export type Child = Element | string;
export type Attrs = Record<string, string>;

export class Element {
  readonly children: Child[] = [];
  parent: Element | null = null;
  readonly attrs: Attrs;

  constructor(
    public name: string,
    attrs?: Attrs | null,
  ) {
    this.attrs = attrs ? { ...attrs } : {};
  }

  /** The element's namespace: its own xmlns or the nearest ancestor's. */
  getNS(): string | undefined {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the walk up the parent chain starts at this element
    let e: Element | null = this;
    while (e) {
      const ns = e.attrs.xmlns;
      if (ns !== undefined) return ns;
      e = e.parent;
    }
    return undefined;
  }

  is(name: string, xmlns?: string): boolean {
    return this.name === name && (xmlns === undefined || this.getNS() === xmlns);
  }

  /** Appends a child element and returns it (for chaining deeper). */
  c(name: string, attrs?: Attrs | null): Element {
    const el = new Element(name, attrs);
    return this.cnode(el);
  }

  cnode<T extends Child>(child: T): T {
    if (typeof child !== "string") child.parent = this;
    this.children.push(child);
    return child;
  }

  /** Appends text; returns this element. */
  t(text: string): this {
    this.children.push(text);
    return this;
  }

  /** Returns the parent (or this, at the top): lets builders climb back up. */
  up(): Element {
    return this.parent ?? this;
  }

  getChildren(name?: string, xmlns?: string): Element[] {
    const out: Element[] = [];
    for (const c of this.children) {
      if (typeof c !== "string" && (name === undefined || c.name === name) && (xmlns === undefined || c.getNS() === xmlns)) out.push(c);
    }
    return out;
  }

  getChild(name: string, xmlns?: string): Element | undefined {
    for (const c of this.children) {
      if (typeof c !== "string" && c.name === name && (xmlns === undefined || c.getNS() === xmlns)) return c;
    }
    return undefined;
  }

  /** Element children only. */
  elements(): Element[] {
    return this.children.filter((c): c is Element => typeof c !== "string");
  }

  getText(): string {
    let s = "";
    for (const c of this.children) if (typeof c === "string") s += c;
    return s;
  }

  getChildText(name: string, xmlns?: string): string | undefined {
    return this.getChild(name, xmlns)?.getText();
  }

  remove(child: Element): void {
    const i = this.children.indexOf(child);
    if (i >= 0) this.children.splice(i, 1);
  }

  clone(): Element {
    const el = new Element(this.name, this.attrs);
    for (const c of this.children) el.cnode(typeof c === "string" ? c : c.clone());
    return el;
  }

  toString(): string {
    let s = "<" + this.name;
    for (const k in this.attrs) {
      const v = this.attrs[k];
      if (v !== undefined) s += " " + k + "='" + escapeAttr(v) + "'";
    }
    if (this.children.length === 0) return s + "/>";
    s += ">";
    for (const c of this.children) s += typeof c === "string" ? escapeText(c) : c.toString();
    return s + "</" + this.name + ">";
  }
}

const ATTR_TEST = /[&<>'"]/;
const TEXT_TEST = /[&<>]/;
const ATTR_RE = /[&<>'"]/g;
const TEXT_RE = /[&<>]/g;
const ENT: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", "'": "&apos;", '"': "&quot;" };

export function escapeAttr(s: string): string {
  return ATTR_TEST.test(s) ? s.replace(ATTR_RE, (m) => ENT[m]!) : s;
}
export function escapeText(s: string): string {
  return TEXT_TEST.test(s) ? s.replace(TEXT_RE, (m) => ENT[m]!) : s;
}

/** Build an element: x("iq", {type:"result"}, child, "text"). Undefined attributes are dropped. */
export function x(name: string, attrs?: Record<string, string | number | undefined> | null, ...children: Array<Child | undefined | null | false>): Element {
  const clean: Attrs = {};
  if (attrs)
    for (const k in attrs) {
      const v = attrs[k];
      if (v !== undefined) clean[k] = String(v);
    }
  const el = new Element(name, clean);
  for (const c of children) if (c !== undefined && c !== null && c !== false) el.cnode(c);
  return el;
}
