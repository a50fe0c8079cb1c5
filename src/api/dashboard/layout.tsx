import { createHash } from "node:crypto";
import type { Child } from "hono/jsx";

/** The only stylesheet: static, inline, allowed by its hash in the Content-Security-Policy (no script is allowed at all). */
const CSS = `
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;background:#f6f8fa}
header{display:flex;align-items:center;gap:16px;padding:10px 24px;background:#24292f;color:#fff}
header a{color:#fff;text-decoration:none;font-weight:600}
header nav{display:flex;gap:14px}header nav a{font-weight:400;color:#d0d7de}
header nav a[aria-current=page]{color:#fff;text-decoration:underline}
header form{margin-left:auto}
main{max-width:1180px;margin:0 auto;padding:20px 24px}
h1{font-size:20px;margin:0 0 14px}h2{font-size:16px;margin:22px 0 8px}
a{color:#0969da}
.card{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:14px 16px;margin-bottom:14px}
.counters{display:grid;grid-template-columns:repeat(auto-fit,minmax(120px,1fr));gap:10px;margin-bottom:14px}
.counter{display:block;background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:10px 12px;text-decoration:none;color:inherit}
.counter b{display:block;font-size:22px}.counter.on{outline:2px solid #0969da}
table{width:100%;border-collapse:collapse;background:#fff}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #eaeef2;vertical-align:top}
th{font-size:12px;color:#57606a;font-weight:600}
code,pre{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace}
pre{background:#f6f8fa;border:1px solid #eaeef2;border-radius:4px;padding:8px;overflow:auto;max-height:320px;margin:4px 0}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;background:#eaeef2}
.s-delivered,.s-completed,.ok{background:#dafbe1;color:#116329}
.s-failed,.s-expired,.bad{background:#ffebe9;color:#a40e26}
.s-delivering,.s-pending,.s-processing{background:#fff8c5;color:#7d4e00}
.s-watching,.s-queued,.s-active{background:#ddf4ff;color:#0550ae}
.s-canceled,.s-deleted{background:#eaeef2;color:#57606a}
form.filters{display:flex;gap:8px;flex-wrap:wrap;align-items:end;margin-bottom:10px}
.field{display:flex;flex-direction:column;gap:2px}label{font-size:12px;color:#57606a}
input,select,button{font:inherit;padding:5px 8px;border:1px solid #d0d7de;border-radius:6px;background:#fff}
button{background:#1f883d;color:#fff;border-color:#1a7f37;cursor:pointer}
button.plain{background:#fff;color:#1f2328;border-color:#d0d7de}
button:disabled{opacity:.5;cursor:not-allowed}
.error{background:#ffebe9;border:1px solid #ff818266;color:#a40e26;padding:8px 12px;border-radius:6px;margin-bottom:12px}
.notice{background:#dafbe1;border:1px solid #4ac26b66;color:#116329;padding:8px 12px;border-radius:6px;margin-bottom:12px}
.muted{color:#57606a}.pager{display:flex;gap:12px;margin-top:10px}
dl{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:4px 16px;margin:0}dt{color:#57606a}dd{margin:0;min-width:0;word-break:break-all}
figure{margin:0 0 14px}form.actions{margin-bottom:10px}
ol.timeline{list-style:none;margin:0;padding:0 0 0 14px;border-left:2px solid #d0d7de}
ol.timeline li{position:relative;margin:0 0 10px;padding-left:10px}
ol.timeline li:before{content:"";position:absolute;left:-21px;top:5px;width:10px;height:10px;border-radius:50%;background:#8c959f}
ol.timeline li.att-ok:before{background:#1f883d}ol.timeline li.att-bad:before{background:#cf222e}
.login{max-width:380px;margin:60px auto}.login input{width:100%}.login button{margin-top:10px;width:100%}
svg text{font:11px system-ui,sans-serif;fill:#57606a}
`;

/** `'sha256-…'` of the stylesheet, for the Content-Security-Policy. */
export const STYLE_HASH = `'sha256-${createHash("sha256").update(CSS).digest("base64")}'`;

/** Headers of every dashboard page: no script at all, no framing, nothing cached, no referrer leaking ids. */
export const PAGE_HEADERS: Record<string, string> = {
  "content-security-policy": `default-src 'none'; style-src ${STYLE_HASH}; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

/** The sections a logged-in page links to from its header. */
const SECTIONS = [
  { key: "watches", href: "/dashboard", label: "Watches" },
  { key: "subscriptions", href: "/dashboard/subscriptions", label: "Subscriptions" },
] as const;
export type Section = (typeof SECTIONS)[number]["key"];

/**
 * The page shell. Everything inside is rendered by Hono JSX, which escapes every text and attribute value.
 * A page with a session (`csrf`) gets the section links and the logout button; `section` marks the current one.
 */
export function Layout(props: {
  title: string;
  csrf?: string | undefined;
  section?: Section | undefined;
  refreshSeconds?: number | undefined;
  children?: Child;
}) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        {props.refreshSeconds ? <meta http-equiv="refresh" content={String(props.refreshSeconds)} /> : null}
        <title>{`${props.title} · rendley-relay`}</title>
        {/* A constant, never user data: the only raw HTML on the page. */}
        <style dangerouslySetInnerHTML={{ __html: CSS }} />
      </head>
      <body>
        <header>
          <a href="/dashboard">rendley-relay</a>
          <span class="muted">dashboard</span>
          {props.csrf ? (
            <nav aria-label="Sections">
              {SECTIONS.map((s) => (
                <a href={s.href} aria-current={props.section === s.key ? "page" : undefined}>
                  {s.label}
                </a>
              ))}
            </nav>
          ) : null}
          {props.csrf ? (
            <form method="post" action="/dashboard/logout">
              <input type="hidden" name="csrf" value={props.csrf} />
              <button class="plain" type="submit">
                Log out
              </button>
            </form>
          ) : null}
        </header>
        <main>{props.children}</main>
      </body>
    </html>
  );
}

/** A status as a colored badge. */
export function Badge(props: { status: string | null }) {
  return <span class={`badge s-${props.status ?? "none"}`}>{props.status ?? "—"}</span>;
}

/** Milliseconds as `850 ms` / `2.4 s` / `3.1 min`. */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

/** A timestamp as `2026-01-01 12:00:00Z`. */
export function formatTime(value: Date | string | null): string {
  if (!value) return "—";
  const date = typeof value === "string" ? new Date(value) : value;
  return `${date.toISOString().slice(0, 19).replace("T", " ")}Z`;
}
