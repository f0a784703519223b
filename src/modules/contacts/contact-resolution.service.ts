import { createHash } from 'node:crypto';
import type { Clock } from '../../clock.js';
import type { Db } from '../../db/database.js';
import type { ContactResolveQuery, RoutePlan } from '../../../schemas/contacts.schema.js';
import type { AuditLog } from '../audit/audit.module.js';
import { contactQueryOf, type ContactQuery } from './contact-query.js';
import { rankSteps, type UnrankedStep } from './contact-ranking.js';
import { createDirectSources, type Contacted, type ContactsSettings } from './direct-steps.js';
import { createConstituencyReader, sitePocSteps, teamSteps, type ContactDirectory } from './team-steps.js';

export interface ContactResolutionDeps {
  db: Db;
  clock: Clock;
  audit: AuditLog;
  fetch: typeof fetch;
  directory: ContactDirectory;
  settings: ContactsSettings;
}

export interface ContactResolutionService {
  /** The ranked route plan for one of ip, host, domain, asn; 400 validation-failed for anything else. */
  resolve(query: ContactResolveQuery, actor: string): Promise<RoutePlan>;
}

const MAX_PLANS_KEPT = 10_000;

/**
 * Contact determination (issue 15 part 1, ADR 0019). A plan is put together from our own data
 * (site POCs, signed constituencies, coordinators) and the outside sources (cached in the
 * database with their expiry), ranked by contact-ranking.ts, and kept in memory until the
 * earliest expiry among its steps or the plan TTL, whichever is sooner: asking again within that
 * time reads neither the database nor the network. A plan put together anew is audited
 * (`contacts.resolved`), naming the outside sources it contacted.
 */
export function createContactResolutionService(deps: ContactResolutionDeps): ContactResolutionService {
  const { clock, directory, settings } = deps;
  const direct = createDirectSources(deps);
  const constituencyOf = createConstituencyReader();
  const plans = new Map<string, { plan: RoutePlan; validUntil: number }>();

  async function internalSteps(query: ContactQuery): Promise<UnrankedStep[]> {
    const siteQuery =
      query.kind === 'ip' ? { ip: query.value } : query.kind === 'asn' ? { asn: String(query.asn) } : { domain: query.value };
    const [site, peers, forums] = await Promise.all([
      directory.lookupSite(siteQuery),
      directory.activePeers(),
      directory.forumMemberships(),
    ]);
    return [...(site ? sitePocSteps(site) : []), ...(await teamSteps(query, peers, forums, constituencyOf))];
  }

  function remember(key: string, plan: RoutePlan, now: number): void {
    if (settings.planTtlSeconds === 0) return;
    let validUntil = now + settings.planTtlSeconds * 1000;
    for (const step of plan.steps) if (step.expiresAt !== null) validUntil = Math.min(validUntil, Date.parse(step.expiresAt));
    if (plans.size >= MAX_PLANS_KEPT) plans.delete(plans.keys().next().value!);
    plans.set(key, { plan, validUntil });
  }

  return {
    async resolve(input, actor) {
      const query = contactQueryOf(input);
      const key = `${query.kind} ${query.value}`;
      const now = clock();
      const kept = plans.get(key);
      if (kept && kept.validUntil > now.getTime()) return kept.plan;
      const contacted: Contacted = new Set();
      const [own, outside] = await Promise.all([internalSteps(query), direct.directSteps(query, contacted)]);
      const steps = rankSteps([...own, ...outside]);
      const plan: RoutePlan = { query: { kind: query.kind, value: query.value }, resolvedAt: now.toISOString(), steps };
      remember(key, plan, now.getTime());
      // The value itself stays out of the append-only log (an address can be personal data); its
      // digest lets an auditor confirm that a given value was asked, and which outsiders saw it.
      await deps.audit.append(deps.db, {
        kind: 'contacts.resolved',
        actor,
        details: {
          query: query.kind,
          valueDigest: createHash('sha256').update(key).digest('hex'),
          steps: steps.length,
          reachable: steps.filter((s) => s.status === 'reachable').length,
          contacted: [...contacted].sort(),
        },
      });
      return plan;
    },
  };
}
