import { sql } from 'kysely';
import type { DbOrTx, Tx } from '../../db/database.js';
import type { CampaignRunCounts } from '../../db/campaign-tables.js';
import { jsonbParameter } from '../../db/jsonb-parameter.js';

/** SQL for campaigns (migration 0032): the events filed, the incidents made, the runs. */

export interface FiledKey {
  siteId: string;
  period: string;
  eventKey: string;
}

/** Which of these (site, period, event key) the campaign filed before. Keys joined as `site|period|key`. */
export async function filedBefore(db: DbOrTx, campaign: string, keys: readonly FiledKey[]): Promise<Set<string>> {
  const out = new Set<string>();
  const CHUNK = 50_000;
  for (let from = 0; from < keys.length; from += CHUNK) {
    const part = keys.slice(from, from + CHUNK).map((k) => ({ s: k.siteId, p: k.period, k: k.eventKey }));
    const { rows } = await sql<{ site_id: string; period: string; event_key: string }>`
      select e.site_id, e.period, e.event_key
      from jsonb_to_recordset(${jsonbParameter(JSON.stringify(part))}::jsonb) as c(s uuid, p text, k text)
      join campaign_event e on e.campaign = ${campaign} and e.site_id = c.s and e.period = c.p and e.event_key = c.k`.execute(db);
    for (const r of rows) out.add(`${r.site_id}|${r.period}|${r.event_key}`);
  }
  return out;
}

/** Records the events filed into one incident each, and the incidents, in the filing transaction. */
export async function recordFiled(
  tx: Tx,
  campaign: string,
  at: Date,
  incidents: Array<{ incidentId: string; siteId: string; period: string; eventKeys: string[] }>,
): Promise<void> {
  if (incidents.length === 0) return;
  await tx
    .insertInto('campaign_incident')
    .values(
      incidents.map((i) => ({
        incident_id: i.incidentId,
        campaign,
        site_id: i.siteId,
        period: i.period,
        created_at: at,
        proposed_at: null,
      })),
    )
    .execute();
  const events = incidents.flatMap((i) => i.eventKeys.map((k) => ({ i: i.incidentId, s: i.siteId, p: i.period, k })));
  // One jsonb parameter for any number of rows (no bind-parameter limit).
  await sql`
    insert into campaign_event (campaign, site_id, period, event_key, incident_id, filed_at)
    select ${campaign}, e.s, e.p, e.k, e.i, ${at}::timestamptz
    from jsonb_to_recordset(${jsonbParameter(JSON.stringify(events))}::jsonb) as e(i uuid, s uuid, p text, k text)
    on conflict do nothing`.execute(tx);
}

/** Incidents of the campaign whose notification is not proposed yet (this run's, or a crashed run's). */
export async function unproposedIncidents(db: DbOrTx, campaign: string): Promise<string[]> {
  const rows = await db
    .selectFrom('campaign_incident')
    .select('incident_id')
    .where('campaign', '=', campaign)
    .where('proposed_at', 'is', null)
    .orderBy('created_at')
    .orderBy('incident_id')
    .execute();
  return rows.map((r) => r.incident_id);
}

export async function markProposed(db: DbOrTx, incidentIds: readonly string[], at: Date): Promise<void> {
  if (incidentIds.length === 0) return;
  await sql`
    update campaign_incident set proposed_at = ${at}::timestamptz
    where incident_id in (select (jsonb_array_elements_text(${jsonbParameter(JSON.stringify(incidentIds))}::jsonb))::uuid)`.execute(db);
}

export async function insertRun(
  db: DbOrTx,
  run: { id: string; campaign: string; at: Date; actor: string; inputSha256: string; counts: CampaignRunCounts },
): Promise<void> {
  await db
    .insertInto('campaign_run')
    .values({
      id: run.id,
      campaign: run.campaign,
      at: run.at,
      actor: run.actor,
      input_sha256: run.inputSha256,
      counts: JSON.stringify(run.counts),
    })
    .execute();
}

export interface CampaignSummaryRow {
  campaign: string;
  runs: number;
  lastRunAt: Date;
  events: number;
  incidents: number;
}

export async function listCampaigns(db: DbOrTx): Promise<CampaignSummaryRow[]> {
  const { rows } = await sql<{
    campaign: string;
    runs: string | number;
    last_run_at: Date | string;
    events: string | number;
    incidents: string | number;
  }>`
    select r.campaign, count(*) as runs, max(r.at) as last_run_at,
      (select count(*) from campaign_event e where e.campaign = r.campaign) as events,
      (select count(*) from campaign_incident i where i.campaign = r.campaign) as incidents
    from campaign_run r group by r.campaign order by max(r.at) desc`.execute(db);
  return rows.map((r) => ({
    campaign: r.campaign,
    runs: Number(r.runs),
    lastRunAt: new Date(r.last_run_at),
    events: Number(r.events),
    incidents: Number(r.incidents),
  }));
}
