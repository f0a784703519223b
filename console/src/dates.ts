import type { Language } from './i18n';

/**
 * Times people wrote (firstSeen, evidence collectedAt...) keep their offset on the wire: the
 * console shows that original wall-clock time with its offset, and the same instant in the
 * viewer's own zone, so a JST log line and a UTC capture can be compared without arithmetic.
 */
const RFC3339 = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}(?::\d{2})?)(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

export function originalTime(value: string): string {
  const m = RFC3339.exec(value);
  if (!m) return value;
  const offset = m[4]!.toUpperCase() === 'Z' ? 'UTC' : `UTC${m[4]}`;
  return `${m[1]} ${m[2]} ${offset}`;
}

export function viewerTime(value: string, language: Language): string {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  return new Intl.DateTimeFormat(language === 'ja' ? 'ja-JP' : 'en-GB', {
    // Field by field: dateStyle/timeStyle cannot be combined with timeZoneName.
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    timeZoneName: 'short',
  }).format(date);
}

/** The viewer's zone as the browser knows it (e.g. Asia/Tokyo). */
export function viewerZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}
