const V4_FINGERPRINT = /^[0-9A-F]{40}$/;

/** openpgp reports lower-case hex; the federation uses the upper-case form GnuPG prints. */
export function normalizeFingerprint(fingerprint: string): string {
  return fingerprint.replace(/\s+/g, '').toUpperCase();
}

export function isV4Fingerprint(value: unknown): value is string {
  return typeof value === 'string' && V4_FINGERPRINT.test(value);
}
