import { sql, type Selectable } from 'kysely';
import type { DbOrTx, Tx } from '../../db/database.js';
import { jsonbParameter } from '../../db/jsonb-parameter.js';
import type { NotificationOutboxTable, SiteNotificationTable } from '../../db/notification-tables.js';
import type {
  NotificationChannel,
  NotificationContent,
  NotificationLanguage,
  NotificationState,
} from '../../../schemas/notification.schema.js';

/** SQL of site notifications and their outbox (migration 0031). */

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

export interface NotificationRow {
  id: string;
  incidentId: string;
  siteId: string;
  siteName: string;
  state: NotificationState;
  reason: string | null;
  deniedBy: string[];
  reasons: string[];
  tlp: string | null;
  pocName: string | null;
  pocEmail: string | null;
  language: NotificationLanguage;
  counterMeasure: string | null;
  advice: string | null;
  content: NotificationContent | null;
  payloadSha256: string | null;
  encrypted: boolean | null;
  messageId: string | null;
  sendUncertain: boolean;
  proposedBy: string;
  proposedAt: string;
  approvedBy: string | null;
  approvedAt: string | null;
  sentAt: string | null;
  outcomeAt: string | null;
  outcomeBy: string | null;
  outcomeDetail: string | null;
  updatedAt: string;
  /** The earlier notification to the same site about the same incident that this one follows up. */
  follows: string | null;
  /** email, or node: a site.notification to peerTeam through the exchange (messageId is the document's id). */
  channel: NotificationChannel;
  peerTeam: string | null;
}

const toRow = (r: Selectable<SiteNotificationTable>): NotificationRow => ({
  id: r.id,
  incidentId: r.incident_id,
  siteId: r.site_id,
  siteName: r.site_name,
  state: r.state as NotificationState,
  reason: r.reason,
  deniedBy: r.denied_by,
  reasons: r.reasons,
  tlp: r.tlp,
  pocName: r.poc_name,
  pocEmail: r.poc_email,
  language: r.language as NotificationLanguage,
  counterMeasure: r.counter_measure,
  advice: r.advice,
  content: (r.content ?? null) as NotificationContent | null,
  payloadSha256: r.payload_sha256,
  encrypted: r.encrypted,
  messageId: r.message_id,
  sendUncertain: r.send_uncertain,
  proposedBy: r.proposed_by,
  proposedAt: iso(r.proposed_at)!,
  approvedBy: r.approved_by,
  approvedAt: iso(r.approved_at),
  sentAt: iso(r.sent_at),
  outcomeAt: iso(r.outcome_at),
  outcomeBy: r.outcome_by,
  outcomeDetail: r.outcome_detail,
  updatedAt: iso(r.updated_at)!,
  follows: r.follows,
  channel: r.channel as NotificationChannel,
  peerTeam: r.peer_team,
});

/** What a proposal writes: the decision and the content, for a new notification or a refreshed one. */
export type ProposalFields = Pick<
  NotificationRow,
  | 'siteName'
  | 'state'
  | 'reason'
  | 'deniedBy'
  | 'reasons'
  | 'tlp'
  | 'pocName'
  | 'pocEmail'
  | 'language'
  | 'counterMeasure'
  | 'content'
  | 'payloadSha256'
>;

const proposalColumns = (f: ProposalFields) => ({
  site_name: f.siteName,
  state: f.state,
  reason: f.reason,
  denied_by: JSON.stringify(f.deniedBy),
  reasons: JSON.stringify(f.reasons),
  tlp: f.tlp,
  poc_name: f.pocName,
  poc_email: f.pocEmail,
  language: f.language,
  counter_measure: f.counterMeasure,
  content: f.content === null ? null : JSON.stringify(f.content),
  payload_sha256: f.payloadSha256,
});

export async function insertNotification(
  tx: Tx,
  row: ProposalFields & { id: string; incidentId: string; siteId: string; proposedBy: string; at: Date; follows: string | null },
): Promise<void> {
  await tx
    .insertInto('site_notification')
    .values({
      id: row.id,
      incident_id: row.incidentId,
      site_id: row.siteId,
      ...proposalColumns(row),
      advice: null,
      encrypted: null,
      message_id: null,
      proposed_by: row.proposedBy,
      proposed_at: row.at,
      approved_by: null,
      approved_at: null,
      sent_at: null,
      outcome_at: null,
      outcome_by: null,
      outcome_detail: null,
      updated_at: row.at,
      follows: row.follows,
    })
    .execute();
}

/** insertNotification for many rows: one statement (a campaign's chunk of proposals). */
export async function insertNotifications(
  tx: Tx,
  rows: ReadonlyArray<
    ProposalFields & { id: string; incidentId: string; siteId: string; proposedBy: string; at: Date; follows: string | null }
  >,
): Promise<void> {
  if (rows.length === 0) return;
  // One jsonb parameter for any number of rows (no bind-parameter limit); the columns left out
  // take their defaults, as insertNotification's nulls do.
  const payload = rows.map((row) => ({
    id: row.id,
    incident_id: row.incidentId,
    site_id: row.siteId,
    ...proposalColumns(row),
    denied_by: row.deniedBy,
    reasons: row.reasons,
    content: row.content,
    proposed_by: row.proposedBy,
    proposed_at: row.at.toISOString(),
    updated_at: row.at.toISOString(),
    follows: row.follows,
  }));
  await sql`
    insert into site_notification (id, incident_id, site_id, site_name, state, reason, denied_by, reasons, tlp, poc_name,
      poc_email, language, counter_measure, content, payload_sha256, proposed_by, proposed_at, updated_at, follows)
    select r.id, r.incident_id, r.site_id, r.site_name, r.state, r.reason, r.denied_by, r.reasons, r.tlp, r.poc_name,
      r.poc_email, r.language, r.counter_measure, r.content, r.payload_sha256, r.proposed_by, r.proposed_at, r.updated_at, r.follows
    from jsonb_to_recordset(${jsonbParameter(JSON.stringify(payload))}::jsonb) as r(id uuid, incident_id uuid, site_id uuid,
      site_name text, state text, reason text, denied_by jsonb, reasons jsonb, tlp text, poc_name text, poc_email text,
      language text, counter_measure text, content jsonb, payload_sha256 text, proposed_by text, proposed_at timestamptz,
      updated_at timestamptz, follows uuid)`.execute(tx);
}

export async function refreshProposal(tx: Tx, id: string, fields: ProposalFields, by: string, at: Date): Promise<void> {
  await tx
    .updateTable('site_notification')
    .set({ ...proposalColumns(fields), proposed_by: by, proposed_at: at, updated_at: at })
    .where('id', '=', id)
    .execute();
}

export async function findNotification(db: DbOrTx, id: string, forUpdate = false): Promise<NotificationRow | null> {
  let query = db.selectFrom('site_notification').selectAll().where('id', '=', id);
  if (forUpdate) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  return row ? toRow(row) : null;
}

/**
 * The site's latest notification about the incident, locked: the one not yet gone out when there
 * is one (at most one, an index says so), else the last proposed.
 */
export async function findLatestNotificationBySite(tx: Tx, incidentId: string, siteId: string): Promise<NotificationRow | null> {
  const row = await tx
    .selectFrom('site_notification')
    .selectAll()
    .where('incident_id', '=', incidentId)
    .where('site_id', '=', siteId)
    .orderBy(sql`state in ('drafted', 'refused', 'unreachable', 'approved')`, 'desc')
    .orderBy('proposed_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .forUpdate()
    .executeTakeFirst();
  return row ? toRow(row) : null;
}

/**
 * findLatestNotificationBySite for every site of these incidents, locked: `incident|site` to its
 * latest notification, by the same order (the one not yet gone out, else the last proposed).
 */
export async function findLatestNotificationsBySite(tx: Tx, incidentIds: readonly string[]): Promise<Map<string, NotificationRow>> {
  const out = new Map<string, NotificationRow>();
  if (incidentIds.length === 0) return out;
  // FOR UPDATE allows no DISTINCT ON: every notification of the incidents is locked and the
  // latest per site picked here (a campaign's incidents have none, or one per site).
  const rows = await tx
    .selectFrom('site_notification')
    .selectAll()
    .where(
      'incident_id',
      'in',
      sql<string>`(select (jsonb_array_elements_text(${jsonbParameter(JSON.stringify(incidentIds))}::jsonb))::uuid)`,
    )
    .orderBy(sql`state in ('drafted', 'refused', 'unreachable', 'approved')`, 'desc')
    .orderBy('proposed_at', 'desc')
    .orderBy('id', 'desc')
    .forUpdate()
    .execute();
  for (const row of rows) {
    const key = `${row.incident_id}|${row.site_id}`;
    if (!out.has(key)) out.set(key, toRow(row));
  }
  return out;
}

export async function findNotificationByMessageId(db: DbOrTx, messageIds: string[]): Promise<NotificationRow | null> {
  if (messageIds.length === 0) return null;
  const row = await db.selectFrom('site_notification').selectAll().where('message_id', 'in', messageIds).executeTakeFirst();
  return row ? toRow(row) : null;
}

/** A notification that went to `peerTeam`'s node, locked: what that node's answer may concern, and nothing else. */
export async function findNodeNotification(tx: Tx, id: string, peerTeam: string): Promise<NotificationRow | null> {
  const row = await tx
    .selectFrom('site_notification')
    .selectAll()
    .where('id', '=', id)
    .where('channel', '=', 'node')
    .where('peer_team', '=', peerTeam)
    .forUpdate()
    .executeTakeFirst();
  return row ? toRow(row) : null;
}

export async function listNotifications(db: DbOrTx, incidentId: string): Promise<NotificationRow[]> {
  const rows = await db
    .selectFrom('site_notification')
    .selectAll()
    .where('incident_id', '=', incidentId)
    .orderBy('site_name')
    .orderBy('site_id')
    .orderBy('proposed_at')
    .orderBy('id')
    .limit(1000)
    .execute();
  return rows.map(toRow);
}

/** listNotifications for many incidents: incident id to its notifications, in the same order. */
export async function listNotificationsFor(db: DbOrTx, incidentIds: readonly string[]): Promise<Map<string, NotificationRow[]>> {
  const out = new Map<string, NotificationRow[]>();
  if (incidentIds.length === 0) return out;
  const rows = await db
    .selectFrom('site_notification')
    .selectAll()
    .where(
      'incident_id',
      'in',
      sql<string>`(select (jsonb_array_elements_text(${jsonbParameter(JSON.stringify(incidentIds))}::jsonb))::uuid)`,
    )
    .orderBy('incident_id')
    .orderBy('site_name')
    .orderBy('site_id')
    .orderBy('proposed_at')
    .orderBy('id')
    .execute();
  for (const row of rows) {
    const list = out.get(row.incident_id) ?? [];
    // The same bound as listNotifications.
    if (list.length < 1000) list.push(toRow(row));
    out.set(row.incident_id, list);
  }
  return out;
}

export async function updateNotification(
  tx: DbOrTx,
  id: string,
  set: Partial<{
    state: NotificationState;
    advice: string | null;
    counterMeasure: string | null;
    language: NotificationLanguage;
    encrypted: boolean;
    messageId: string;
    sendUncertain: boolean;
    approvedBy: string;
    approvedAt: Date;
    sentAt: Date;
    outcomeAt: Date;
    outcomeBy: string;
    outcomeDetail: string | null;
    channel: NotificationChannel;
    peerTeam: string | null;
  }>,
  at: Date,
): Promise<void> {
  await tx
    .updateTable('site_notification')
    .set({
      ...(set.state !== undefined ? { state: set.state } : {}),
      ...(set.advice !== undefined ? { advice: set.advice } : {}),
      ...(set.counterMeasure !== undefined ? { counter_measure: set.counterMeasure } : {}),
      ...(set.language !== undefined ? { language: set.language } : {}),
      ...(set.encrypted !== undefined ? { encrypted: set.encrypted } : {}),
      ...(set.messageId !== undefined ? { message_id: set.messageId } : {}),
      ...(set.sendUncertain !== undefined ? { send_uncertain: set.sendUncertain } : {}),
      ...(set.approvedBy !== undefined ? { approved_by: set.approvedBy } : {}),
      ...(set.approvedAt !== undefined ? { approved_at: set.approvedAt } : {}),
      ...(set.sentAt !== undefined ? { sent_at: set.sentAt } : {}),
      ...(set.outcomeAt !== undefined ? { outcome_at: set.outcomeAt } : {}),
      ...(set.outcomeBy !== undefined ? { outcome_by: set.outcomeBy } : {}),
      ...(set.outcomeDetail !== undefined ? { outcome_detail: set.outcomeDetail } : {}),
      ...(set.channel !== undefined ? { channel: set.channel } : {}),
      ...(set.peerTeam !== undefined ? { peer_team: set.peerTeam } : {}),
      updated_at: at,
    })
    .where('id', '=', id)
    .execute();
}

// ---------------------------------------------------------------------------------------------
// The outbox

export interface OutboxEntry {
  notificationId: string;
  state: 'queued' | 'handing-over' | 'sent';
  envelopeFrom: string;
  envelopeTo: string;
  raw: string;
  attempts: number;
  nextAttemptAt: string;
  lastError: string | null;
}

const toOutbox = (r: Selectable<NotificationOutboxTable>): OutboxEntry => ({
  notificationId: r.notification_id,
  state: r.state as OutboxEntry['state'],
  envelopeFrom: r.envelope_from,
  envelopeTo: r.envelope_to,
  raw: r.raw,
  attempts: r.attempts,
  nextAttemptAt: iso(r.next_attempt_at)!,
  lastError: r.last_error,
});

export async function enqueueMail(
  tx: Tx,
  entry: { notificationId: string; from: string; to: string; raw: string; at: Date },
): Promise<void> {
  await tx
    .insertInto('notification_outbox')
    .values({
      notification_id: entry.notificationId,
      state: 'queued',
      envelope_from: entry.from,
      envelope_to: entry.to,
      raw: entry.raw,
      next_attempt_at: entry.at,
      last_error: null,
      queued_at: entry.at,
      sent_at: null,
    })
    .execute();
}

export async function findOutboxEntries(db: DbOrTx, ids: string[]): Promise<Map<string, OutboxEntry>> {
  if (ids.length === 0) return new Map();
  const rows = await db.selectFrom('notification_outbox').selectAll().where('notification_id', 'in', ids).execute();
  return new Map(rows.map((r) => [r.notification_id, toOutbox(r)]));
}

/**
 * The next due mail, claimed: moved to handing-over in the caller's transaction (committed before
 * the SMTP hand-over), its next_attempt_at moved to the end of the lease: past it, the hand-over
 * is taken to have been cut (the process died), whichever process looks.
 */
export async function claimDueMail(tx: Tx, now: Date, leaseUntil: Date, perDomainPerHour = 0): Promise<OutboxEntry | null> {
  let row;
  for (;;) {
    row = await tx
      .selectFrom('notification_outbox')
      .selectAll()
      .where('state', '=', 'queued')
      .where('next_attempt_at', '<=', now)
      .orderBy('next_attempt_at')
      .limit(1)
      // Another process's claim in progress is passed over, not waited for: waiting, the claim
      // would find that row no longer queued and answer nothing although more mail is due.
      .forUpdate()
      .skipLocked()
      .executeTakeFirst();
    if (!row) return null;
    const wait = perDomainPerHour > 0 ? await domainWait(tx, row.envelope_to, now, perDomainPerHour) : null;
    if (!wait) break;
    // Over the receiving domain's hourly limit: this one waits until the oldest hand-over in the
    // window is an hour old (a campaign must not look like a flood to a site's mail server).
    await tx
      .updateTable('notification_outbox')
      .set({ next_attempt_at: wait, last_error: `waiting: ${perDomainPerHour} an hour to this domain` })
      .where('notification_id', '=', row.notification_id)
      .execute();
  }
  await tx
    .updateTable('notification_outbox')
    .set({ state: 'handing-over', attempts: row.attempts + 1, next_attempt_at: leaseUntil })
    .where('notification_id', '=', row.notification_id)
    .execute();
  return { ...toOutbox(row), state: 'handing-over', attempts: row.attempts + 1 };
}

export async function markMailSent(tx: Tx, id: string, at: Date, lastError: string | null = null): Promise<void> {
  await tx
    .updateTable('notification_outbox')
    .set({ state: 'sent', sent_at: at, last_error: lastError })
    .where('notification_id', '=', id)
    .execute();
}

export async function markMailRetry(db: DbOrTx, id: string, next: Date, error: string): Promise<void> {
  await db
    .updateTable('notification_outbox')
    .set({ state: 'queued', next_attempt_at: next, last_error: error.slice(0, 500) })
    .where('notification_id', '=', id)
    .execute();
}

/** Mails left in handing-over past their lease: the process handing them over died, so their outcome is unknown. */
export async function listCutHandOvers(db: DbOrTx, now: Date): Promise<string[]> {
  const rows = await db
    .selectFrom('notification_outbox')
    .select('notification_id')
    .where('state', '=', 'handing-over')
    .where('next_attempt_at', '<=', now)
    .limit(100)
    .execute();
  return rows.map((r) => r.notification_id);
}

/** Settles a cut hand-over once: answers false when another process settled or finished it first. */
export async function settleCutHandOver(tx: Tx, id: string, at: Date, note: string): Promise<boolean> {
  const result = await tx
    .updateTable('notification_outbox')
    .set({ state: 'sent', sent_at: at, last_error: note })
    .where('notification_id', '=', id)
    .where('state', '=', 'handing-over')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

const domainOf = (address: string): string => address.slice(address.lastIndexOf('@') + 1).toLowerCase();

/**
 * When a mail to this address's domain may go, or null when it may go now: at most `perHour`
 * hand-overs to one domain in any hour (the sent ones and those being handed over).
 */
async function domainWait(db: DbOrTx, envelopeTo: string, now: Date, perHour: number): Promise<Date | null> {
  const since = new Date(now.getTime() - 3_600_000);
  const row = await db
    .selectFrom('notification_outbox')
    .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.min('sent_at').as('oldest')])
    .where(sql<string>`lower(split_part(envelope_to, '@', 2))`, '=', domainOf(envelopeTo))
    .where((eb) => eb.or([eb('state', '=', 'handing-over'), eb.and([eb('state', '=', 'sent'), eb('sent_at', '>', since)])]))
    .executeTakeFirstOrThrow();
  if (Number(row.n) < perHour) return null;
  const oldest = row.oldest ? new Date(row.oldest as Date | string) : now;
  return new Date(Math.max(oldest.getTime() + 3_600_000, now.getTime() + 1000));
}
