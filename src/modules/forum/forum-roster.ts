import { isMailMember, type RosterDocument, type RosterMember } from '../../../schemas/forum.schema.js';

/**
 * The rules of a roster version (issue 14), pure: what a member checks before it applies one,
 * and what the operator checks before it signs one. Each answers the first problem found, in
 * words a handler can act on, or null.
 */

/** A roster for `forum`, signed by its `operator`: names, duplicates, sponsors. */
export function rosterProblem(doc: RosterDocument, expected: { forum: string; operator: string }): string | null {
  if (doc.forum !== expected.forum) return `the roster is of forum "${doc.forum}", not "${expected.forum}"`;
  if (doc.operator !== expected.operator)
    return `the roster names "${doc.operator}" as operator; forum "${expected.forum}" is operated by "${expected.operator}"`;
  const teams = new Set<string>();
  const keys = new Map<string, string>();
  const addresses = new Map<string, string>();
  for (const m of doc.members) {
    if (teams.has(m.team)) return `team "${m.team}" is listed twice`;
    if (isMailMember(m)) {
      // Version 1 means "every member runs a node": a reader of version 1 would look for a URL.
      if (doc.v === 1) return `team "${m.team}" reads e-mail only, which a version-1 roster cannot list`;
      if (m.team === expected.operator) return `the operator "${m.team}" runs a node: it cannot be listed as a team without one`;
      const address = m.email.toLowerCase();
      const other = addresses.get(address);
      if (other) return `the address ${m.email} is listed for both "${other}" and "${m.team}"`;
      addresses.set(address, m.team);
    }
    teams.add(m.team);
    const holder = keys.get(m.fingerprint);
    if (holder) return `key ${m.fingerprint} is listed for both "${holder}" and "${m.team}"`;
    keys.set(m.fingerprint, m.team);
  }
  for (const m of doc.members) {
    for (const sponsor of m.sponsors) {
      if (sponsor === m.team) return `team "${m.team}" sponsors itself`;
      if (!teams.has(sponsor)) return `"${sponsor}", a sponsor of "${m.team}", is not a member`;
    }
  }
  return null;
}

/** The roster version a list of members needs: 1 while every member runs a node (ADR 0028). */
export function rosterFormatFor(members: readonly RosterMember[]): 1 | 2 {
  return members.some(isMailMember) ? 2 : 1;
}

/**
 * A new version must be newer: an older one (a replay, or a rollback by someone who kept an old
 * signed copy) would bring back removed members. The same version again is a repeat only if it
 * is the same document.
 */
export function versionProblem(incoming: number, current: number): 'stale' | 'repeat' | null {
  if (incoming < current) return 'stale';
  if (incoming === current) return 'repeat';
  return null;
}

/** The members whose key a roster vouches for, and who get the group floor: the active ones. */
export function activeMembers(doc: RosterDocument): RosterMember[] {
  return doc.members.filter((m) => m.status === 'active');
}

/** Our own kind of membership in a roster, `none` when it does not list us (or we are suspended). */
export function ourMembershipIn(doc: RosterDocument, ourTeam: string): 'full' | 'liaison' | 'none' {
  const us = doc.members.find((m) => m.team === ourTeam);
  return us && us.status === 'active' ? us.kind : 'none';
}

/**
 * Sponsors of a new admission: members, not the candidate, and enough of them. A forum with
 * fewer active members than it needs sponsors admits its founders without (FIRST's founding).
 */
export function sponsorProblem(
  candidate: string,
  sponsors: readonly string[],
  activeTeams: ReadonlySet<string>,
  needed: number,
): string | null {
  for (const s of sponsors) {
    if (s === candidate) return `team "${candidate}" cannot sponsor itself`;
    if (!activeTeams.has(s)) return `sponsor "${s}" is not an active member of the forum`;
  }
  const others = [...activeTeams].filter((t) => t !== candidate).length;
  if (others >= needed && sponsors.length < needed) return `a new member needs ${needed} sponsor(s); ${sponsors.length} given`;
  return null;
}
