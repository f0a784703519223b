import type { Host, Incident } from '../../../schemas/incident.schema.js';
import type { NotificationContent, NotificationLanguage } from '../../../schemas/notification.schema.js';
import type { PolicyPayload } from '../policy/index.js';

/**
 * What a site is told about an incident, and how it reads (issue 19 part 1, ADR 0026). Pure:
 * the service looks every address, name and AS number up in the constituency directory first
 * and passes the answers in.
 *
 * A site gets its OWN hosts as the incident records them (redaction protects third parties, and
 * a site's own hosts are not a third party's), the indicators in its own scope, and the
 * indicators in no site's scope (attacker infrastructure) that the policy's payload carries. Never
 * the title, summary, intruder activity, reporter, POC, evidence, system changes, installed
 * software, or anything in another site's scope: those are about other people.
 */

/** Indicator kinds looked up in the directory (the domain of a URL's host and of an e-mail address). */
export const LOOKED_UP_KINDS = new Set(['ipv4', 'ipv6', 'domain', 'url', 'email', 'asn']);
/**
 * Kinds a site may get when in no site's scope: a value that names one thing. `other` is free
 * text, which can name anyone, so it never goes to a site.
 */
const SHAREABLE_KINDS = new Set([...LOOKED_UP_KINDS, 'md5', 'sha1', 'sha256', 'user-agent']);

/** The host part of an indicator value to look up: the URL's host, the e-mail address's domain, the AS number. */
export function lookupKeyOf(kind: string, value: string): { address: string } | { domain: string } | { asn: number } | null {
  const v = value.trim();
  switch (kind) {
    case 'ipv4':
    case 'ipv6':
      return { address: v };
    case 'domain':
      return { domain: v };
    case 'email': {
      const at = v.lastIndexOf('@');
      return at > 0 ? { domain: v.slice(at + 1) } : null;
    }
    case 'url': {
      try {
        const host = new URL(v).hostname.replace(/^\[|\]$/g, '');
        return host ? (/^[\d.]+$/.test(host) || host.includes(':') ? { address: host } : { domain: host }) : null;
      } catch {
        return null;
      }
    }
    case 'asn': {
      const n = Number(/^(?:AS)?(\d{1,10})$/i.exec(v)?.[1]);
      return Number.isInteger(n) && n >= 0 && n <= 4294967295 ? { asn: n } : null;
    }
    default:
      return null;
  }
}

/** The indicator values the policy's payload carries (full: the redacted incident; summary: its indicator list). */
function payloadIndicators(payload: PolicyPayload): Set<string> {
  const list = payload.detail === 'full' ? payload.incident.indicators : payload.summary.indicators;
  return new Set(list.map((i) => `${i.kind}\u0000${i.value}`));
}

function ownHost(h: Host): Host {
  return {
    ...(h.ip !== undefined ? { ip: h.ip } : {}),
    ...(h.hostname !== undefined ? { hostname: h.hostname } : {}),
    role: h.role,
    ...(h.ports !== undefined ? { ports: h.ports } : {}),
    ...(h.protocol !== undefined ? { protocol: h.protocol } : {}),
    ...(h.spoofedSource !== undefined ? { spoofedSource: h.spoofedSource } : {}),
    ...(h.description !== undefined ? { description: h.description } : {}),
  };
}

/**
 * The content for one site. `hostSites[i]` / `indicatorSites[i]`: the site owning the incident's
 * host / indicator i (null: no site). `payload`: what the policy allowed for this site.
 */
export function contentForSite(
  incident: Incident,
  siteId: string,
  owners: { hostSites: Array<string | null>; indicatorSites: Array<string | null> },
  payload: PolicyPayload,
  tlp: Incident['tlp'],
  callBack: NotificationContent['callBack'],
): NotificationContent {
  const allowed = payloadIndicators(payload);
  const seen = new Set<string>();
  const indicators = incident.indicators.flatMap((ind, i) => {
    const owner = owners.indicatorSites[i] ?? null;
    const key = `${ind.kind}\u0000${ind.value}`;
    const mine = owner === siteId;
    const noSite = owner === null && SHAREABLE_KINDS.has(ind.kind) && allowed.has(key);
    if ((!mine && !noSite) || seen.has(key)) return [];
    seen.add(key);
    return [{ kind: ind.kind, value: ind.value }];
  });
  return {
    ref: incident.ref,
    category: incident.category,
    type: incident.type,
    severity: incident.severity,
    tlp,
    firstSeen: incident.firstSeen,
    lastSeen: incident.lastSeen,
    hosts: incident.hosts.filter((_, i) => owners.hostSites[i] === siteId).map(ownHost),
    indicators,
    cves: [...new Set(incident.vulnerabilities.flatMap((v) => (v.cve ? [v.cve] : [])))].sort(),
    callBack,
  };
}

const HEADINGS = {
  en: {
    title: 'Security incident notification',
    ref: 'Our reference number',
    category: 'Category',
    severity: 'Severity',
    tlp: 'Traffic Light Protocol',
    tlpNote: 'Please handle this message according to its TLP label.',
    seen: 'Activity seen',
    hosts: 'Your hosts',
    indicators: 'Related indicators',
    cves: 'Vulnerabilities',
    advice: 'What we advise',
    contact: 'Contact',
    quote: 'Please quote our reference number when you answer.',
    none: '-',
  },
  ja: {
    title: 'セキュリティインシデントに関するご連絡',
    ref: '参照番号',
    category: '分類',
    severity: '重要度',
    tlp: 'TLP（情報の取り扱い）',
    tlpNote: 'TLP の区分に従ってお取り扱いください。',
    seen: '観測期間',
    hosts: '貴組織のホスト',
    indicators: '関連する指標',
    cves: '脆弱性',
    advice: '推奨する対策',
    contact: '連絡先',
    quote: 'ご返信の際は参照番号をお知らせください。',
    none: '-',
  },
} as const;

function hostLine(h: Host): string {
  const parts = [h.ip, h.hostname, `[${h.role}]`];
  if (h.ports?.length) parts.push(`ports ${h.ports.join(',')}`);
  if (h.protocol) parts.push(h.protocol);
  if (h.spoofedSource) parts.push('(source may be spoofed)');
  const line = `  - ${parts.filter(Boolean).join(' ')}`;
  return h.description ? `${line}\n      ${h.description.replace(/\s*\n\s*/g, ' ')}` : line;
}

/** The notification as the site reads it: plain text, headings in its language. */
export function renderNotificationText(
  content: NotificationContent,
  advice: string,
  language: NotificationLanguage,
  siteName: string,
): string {
  const h = HEADINGS[language];
  const lines = [
    `${h.title}: ${siteName}`,
    '',
    `${h.ref}: ${content.ref}`,
    `${h.category}: ${content.category}${content.type ? ` / ${content.type}` : ''}`,
    `${h.severity}: ${content.severity}`,
    `${h.tlp}: TLP:${content.tlp}  ${h.tlpNote}`,
    `${h.seen}: ${content.firstSeen ?? h.none} .. ${content.lastSeen ?? h.none}`,
    '',
    `${h.hosts}:`,
    ...(content.hosts.length ? content.hosts.map(hostLine) : [`  ${h.none}`]),
    '',
    `${h.indicators}:`,
    ...(content.indicators.length ? content.indicators.map((i) => `  - ${i.kind}: ${i.value}`) : [`  ${h.none}`]),
    '',
    `${h.cves}: ${content.cves.length ? content.cves.join(', ') : h.none}`,
    '',
    `${h.advice}:`,
    advice.replace(/\r\n?/g, '\n'),
    '',
    `${h.contact}: ${content.callBack.teamName} (${content.callBack.teamId}) <${content.callBack.email}>`,
    h.quote,
    '',
  ];
  return lines.join('\n');
}
