import type { PublishedPressStatement } from '../../../schemas/outside.schema.js';

/**
 * The published press statements as a web page (issue 17 part 4: "published on the node"), for
 * the journalists and readers who open /press in a browser. A pure rendering of what the JSON
 * routes serve: every value is escaped, the page loads nothing (no script, no image, no font)
 * and the route sends a Content-Security-Policy that forbids all of it anyway, since a
 * statement's text is typed by a person and may quote anything.
 */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/** The policy the HTML routes send: nothing may load or run; inline style only. */
export const PRESS_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const STYLE =
  'body{font-family:system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem;line-height:1.5}article{border-top:1px solid #ccc;padding-top:1rem;margin-top:1rem}p.meta{color:#555;font-size:.9rem}div.text{white-space:pre-wrap}';

function page(title: string, body: string): string {
  return [
    '<!DOCTYPE html>',
    '<html>',
    '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>`,
    `<body>${body}</body>`,
    '</html>',
    '',
  ].join('\n');
}

function article(s: PublishedPressStatement, link: boolean): string {
  const heading = link ? `<a href="/press/${encodeURIComponent(s.id)}">${escapeHtml(s.title)}</a>` : escapeHtml(s.title);
  const incidents = s.incidents.length > 0 ? ` · Incidents: ${s.incidents.map(escapeHtml).join(', ')}` : '';
  return [
    '<article>',
    `<h2>${heading}</h2>`,
    `<p class="meta">${escapeHtml(s.team)} · <time datetime="${escapeHtml(s.publishedAt)}">${escapeHtml(s.publishedAt)}</time>${incidents}</p>`,
    `<div class="text">${escapeHtml(s.text.replace(/\r\n?/g, '\n'))}</div>`,
    `<p class="meta"><a href="/press/${encodeURIComponent(s.id)}/text">Plain text</a></p>`,
    '</article>',
  ].join('\n');
}

export function renderPressIndexHtml(team: string, items: PublishedPressStatement[]): string {
  const list = items.length > 0 ? items.map((s) => article(s, true)).join('\n') : '<p>No statements published.</p>';
  return page(`Press statements: ${team}`, `<h1>Press statements: ${escapeHtml(team)}</h1>\n${list}`);
}

export function renderPressStatementHtml(s: PublishedPressStatement): string {
  return page(s.title, `<p><a href="/press">All statements</a></p>\n${article(s, false)}`);
}

/**
 * Whether a request asks for the page rather than the JSON: a browser lists text/html first;
 * API clients send application/json, `*\/*` or nothing, and keep getting JSON.
 */
export function wantsHtml(accept: string | undefined): boolean {
  const first = (accept ?? '').split(',')[0]?.split(';')[0]?.trim().toLowerCase();
  return first === 'text/html' || first === 'application/xhtml+xml';
}
