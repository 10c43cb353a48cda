// What every account page shares: the one style block (allowed by its hash in the page's
// Content-Security-Policy), the document around a page, times, the flash message, the message
// page and the new-password fields. Everything shown is escaped. Accessibility: every field
// has a label, focus is always visible, text contrast is at least 7:1 (AAA) on white, and below
// 48rem the tables become one card per row.
import { esc } from "../../oauth/pages.js";
import { utcTime } from "../../../features/new-client-notice.js";
import { MAX_PASSWORD } from "../../../auth/password-policy.js";

export const STYLE = `*{box-sizing:border-box}body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f3f4f6;color:#14171c}
main{max-width:76rem;margin:0 auto;padding:1rem}header.top{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;justify-content:space-between}
h1{font-size:1.5rem;margin:.5rem 0}h2{font-size:1.25rem;margin:0 0 .5rem}section,.card{background:#fff;border-radius:8px;box-shadow:0 1px 3px #0003;padding:1rem 1.25rem;margin:1rem 0}
.narrow{max-width:32rem;margin:2rem auto}.card h2{margin-top:1.5rem}.muted{color:#3f4652}.small{font-size:.9rem}
a{color:#163fa3}a:hover{color:#0b2a75}:focus-visible{outline:3px solid #163fa3;outline-offset:2px}
.flash{padding:.75rem 1rem;border-radius:6px;margin:1rem 0;border:1px solid}.ok{background:#e7f5ea;border-color:#1b6b2f;color:#0f3d1b}.error{background:#fdecee;border-color:#a1101f;color:#6d0a14}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}.hint{display:block;font-weight:400;font-size:.9rem;color:#3f4652}
input[type=text],input[type=password]{width:100%;max-width:26rem;padding:.6rem;font:inherit;border:1px solid #5b6270;border-radius:4px;background:#fff;color:#14171c}
button,a.button{display:inline-block;font:inherit;padding:.5rem 1rem;min-height:2.75rem;border-radius:4px;border:1px solid #163fa3;background:#fff;color:#163fa3;cursor:pointer;text-decoration:none;line-height:1.6}
button.primary{background:#163fa3;color:#fff}button.danger,a.button.danger{border-color:#a1101f;color:#a1101f}button.danger.solid{background:#a1101f;color:#fff}
form.inline{display:inline}.actions{display:flex;flex-wrap:wrap;gap:.5rem;margin-top:1rem}
table{border-collapse:collapse;width:100%;font-size:.95rem}caption{text-align:left;font-weight:600;padding:.25rem 0 .5rem}
th,td{text-align:left;vertical-align:top;padding:.5rem .5rem;border-bottom:1px solid #d5d9e0}thead th{background:#eef0f4;border-bottom:2px solid #8a919e;white-space:nowrap}
tr.current{background:#eef4ff}.badge{display:inline-block;font-size:.8rem;font-weight:600;padding:0 .4rem;border-radius:4px;background:#163fa3;color:#fff;margin-left:.25rem;white-space:nowrap}
.yes{color:#0f5a25;font-weight:600}.vh{position:absolute!important;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
dl.details{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}dl.details dt{font-weight:600}dl.details dd{margin:0}
@media (max-width:48rem){main{padding:.5rem}section{padding:.75rem}table.cards thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
table.cards,table.cards caption,table.cards tbody,table.cards tr,table.cards td,table.cards th{display:block;width:100%}table.cards tr{border:1px solid #b5bbc6;border-radius:6px;margin:0 0 .75rem;padding:.25rem .5rem}
table.cards td,table.cards th{border:0;padding:.2rem 0}table.cards td[data-label]::before{content:attr(data-label) ": ";font-weight:600}dl.details{grid-template-columns:1fr}}`;

export { esc };

export function page(title: string, body: string, opts: { live?: boolean } = {}): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin"><meta name="color-scheme" content="light"><title>${esc(title)}</title><style>${STYLE}</style>
${opts.live ? `<script src="/account/live.js" defer></script>` : ""}</head>
<body><main>
${body}
</main></body></html>`;
}

export function time(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms <= 0) return "—";
  return `<time datetime="${new Date(ms).toISOString()}">${esc(utcTime(ms))}</time>`;
}

export function flashBox(flash: { kind: "ok" | "error"; text: string } | undefined): string {
  if (!flash) return "";
  return `<div class="flash ${flash.kind}" role="${flash.kind === "error" ? "alert" : "status"}">${esc(flash.text)}</div>`;
}

export function messagePage(title: string, text: string, link = `<a href="/account">Back to your account</a>`): string {
  return page(title, `<div class="card narrow"><h1>${esc(title)}</h1><p>${esc(text)}</p><p>${link}</p></div>`);
}

/** The new-password fields, shared by the password form and the combined reset form. */
export function newPasswordFields(minLength: number): string {
  return `<label for="new_password">New password <span class="hint" id="new-hint">At least ${minLength} characters</span></label>
<input type="password" id="new_password" name="new_password" autocomplete="new-password" minlength="${minLength}" maxlength="${MAX_PASSWORD}" aria-describedby="new-hint" required>
<label for="confirm_password">New password again</label>
<input type="password" id="confirm_password" name="confirm_password" autocomplete="new-password" minlength="${minLength}" maxlength="${MAX_PASSWORD}" required>`;
}
