import { useEffect, useState } from 'preact/hooks';

/**
 * Hash routes (#/incidents/CSIRT%232026-000042): the node serves one page at /console, and a
 * reference number (with its '#') travels URL-encoded in one path segment.
 */
export type Route =
  | { page: 'incidents' }
  | { page: 'incident-new' }
  | { page: 'incident'; ref: string }
  | { page: 'share'; ref: string }
  | { page: 'overview' }
  | { page: 'inquiries' }
  | { page: 'peers' }
  | { page: 'audit' }
  | { page: 'quarantine' }
  | { page: 'profile' }
  | { page: 'account' }
  | { page: 'forums' }
  | { page: 'accounts' }
  | { page: 'cases' }
  | { page: 'outside' }
  | { page: 'site-notices' }
  | { page: 'sites' }
  | { page: 'counter-measures' }
  | { page: 'case'; id: string };

/** Pages with no part after their name (#/overview). */
const SINGLE_PAGES = [
  'overview',
  'inquiries',
  'peers',
  'forums',
  'audit',
  'quarantine',
  'profile',
  'account',
  'accounts',
  'cases',
  'outside',
  'site-notices',
  'sites',
  'counter-measures',
] as const;

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  const [head, second, third] = parts;
  if (head === 'incidents' && second === 'new') return { page: 'incident-new' };
  if (head === 'incidents' && second) {
    const ref = safeDecode(second);
    return third === 'share' ? { page: 'share', ref } : { page: 'incident', ref };
  }
  if (head === 'cases' && second) return { page: 'case', id: safeDecode(second) };
  const single = SINGLE_PAGES.find((page) => page === head);
  if (single) return { page: single };
  return { page: 'incidents' };
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export function incidentHref(ref: string, tail = ''): string {
  return `#/incidents/${encodeURIComponent(ref)}${tail}`;
}

export function caseHref(id: string): string {
  return `#/cases/${encodeURIComponent(id)}`;
}

export function navigate(hash: string): void {
  location.hash = hash;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
