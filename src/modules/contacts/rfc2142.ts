/**
 * RFC 2142 role mailboxes: abuse@ (§4, inappropriate public behaviour), security@ (§4, security
 * bulletins or queries) and postmaster@ (§5, SMTP, RFC 5321 §4.5.1 requires it) at the registrable
 * domain. Nothing is asked of the network: they are guesses, listed last and marked unverified,
 * since many domains accept none of them and an attacker who owns the domain reads them all.
 */
export const RFC2142_ROLES = ['abuse', 'security', 'postmaster'] as const;

export function roleAddresses(registrableDomain: string): Array<{ role: (typeof RFC2142_ROLES)[number]; address: string }> {
  return RFC2142_ROLES.map((role) => ({ role, address: `${role}@${registrableDomain}` }));
}
