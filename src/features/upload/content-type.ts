// What a stored file is served as. An uploaded file comes from any user and is served from
// Warden's own origin, so it must never run as a page of that origin (the account page and the
// OAuth endpoints live there): the type is normalised, only types a browser cannot script are
// shown inline (Prosody's default http_file_share_safe_file_types: images, audio, video, plain
// text; SVG is an image that runs script, so it is not one of them), and everything else is an
// attachment. The response also carries a sandboxing CSP and nosniff (serve.ts).

const TOKEN = "[a-z0-9!#$&^_.+-]{1,127}";
const MIME_RE = new RegExp(`^${TOKEN}/${TOKEN}$`);

/** The declared type as stored: lower case, without parameters; undefined when it is not a MIME type. */
export function normaliseType(declared: string): string | undefined {
  const t = declared.split(";")[0]!.trim().toLowerCase();
  return MIME_RE.test(t) ? t : undefined;
}

/** Whether a browser may show the type inline without any chance of running it. */
export function safeInline(type: string): boolean {
  if (type === "image/svg+xml") return false;
  return /^(?:image|audio|video)\//.test(type) || type === "text/plain";
}

/** Content-Disposition (RFC 6266): an ASCII fallback name and the UTF-8 name (RFC 8187). */
export function disposition(kind: "inline" | "attachment", filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\%]/g, "_");
  const utf8 = encodeURIComponent(filename).replace(/['()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${utf8}`;
}

/** A filename as XEP-0363 §4 allows it here: a name, never a path. */
export function validFilename(name: string): boolean {
  if (name.length === 0 || name.length > 255 || name === "." || name === "..") return false;
  // No path separators, no control characters (C0, DEL, C1), no unpaired surrogates.
  return !/[/\\\u0000-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(name);
}
