import { sql, type Selectable } from 'kysely';
import type { DbOrTx } from '../../db/database.js';
import { jsonbParameter } from '../../db/jsonb-parameter.js';
import type { CounterMeasureTable, SiteContactTable, SiteNodeContactTable } from '../../db/notification-tables.js';
import type { CounterMeasure, SiteContact, SiteNodeContact } from '../../../schemas/notification.schema.js';

/** SQL of the POC addresses' keys and bounces, and of the team's counter-measure templates (migration 0031). */

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

export interface ContactRow extends SiteContact {
  publicKey: string | null;
}

const toContact = (r: Selectable<SiteContactTable>): ContactRow => ({
  email: r.email,
  fingerprint: r.fingerprint,
  failing: r.failing,
  lastBounceReason: r.last_bounce_reason,
  lastBounceAt: iso(r.last_bounce_at),
  updatedAt: iso(r.updated_at)!,
  publicKey: r.public_key,
});

export async function findContact(db: DbOrTx, email: string): Promise<ContactRow | null> {
  const row = await db.selectFrom('site_contact').selectAll().where('email', '=', email.toLowerCase()).executeTakeFirst();
  return row ? toContact(row) : null;
}

export async function listContacts(db: DbOrTx, failingOnly: boolean): Promise<ContactRow[]> {
  let query = db.selectFrom('site_contact').selectAll();
  if (failingOnly) query = query.where('failing', '=', true);
  return (await query.orderBy('email').limit(5000).execute()).map(toContact);
}

/** Known from now on (a notification names it); changes nothing when it is known already. */
export async function rememberContact(db: DbOrTx, email: string, at: Date): Promise<void> {
  await db
    .insertInto('site_contact')
    .values({
      email: email.toLowerCase(),
      public_key: null,
      fingerprint: null,
      last_bounce_reason: null,
      last_bounce_at: null,
      key_set_by: null,
      updated_at: at,
    })
    .onConflict((oc) => oc.column('email').doNothing())
    .execute();
}

/** rememberContact and findContact for many addresses, in two statements: address (lower case) to its contact. */
export async function rememberAndFindContacts(db: DbOrTx, emails: readonly string[], at: Date): Promise<Map<string, ContactRow>> {
  const out = new Map<string, ContactRow>();
  const wanted = [...new Set(emails.map((e) => e.toLowerCase()))];
  if (wanted.length === 0) return out;
  const list = jsonbParameter(JSON.stringify(wanted));
  await sql`
    insert into site_contact (email, public_key, fingerprint, last_bounce_reason, last_bounce_at, key_set_by, updated_at)
    select e, null, null, null, null, null, ${at}::timestamptz from jsonb_array_elements_text(${list}::jsonb) as e
    on conflict (email) do nothing`.execute(db);
  const rows = await db
    .selectFrom('site_contact')
    .selectAll()
    .where('email', 'in', sql<string>`(select jsonb_array_elements_text(${list}::jsonb))`)
    .execute();
  for (const row of rows) out.set(row.email, toContact(row));
  return out;
}

export async function setContactKey(
  db: DbOrTx,
  email: string,
  key: { armored: string; fingerprint: string },
  by: string,
  at: Date,
): Promise<void> {
  await db
    .insertInto('site_contact')
    .values({
      email: email.toLowerCase(),
      public_key: key.armored,
      fingerprint: key.fingerprint,
      last_bounce_reason: null,
      last_bounce_at: null,
      key_set_by: by,
      updated_at: at,
    })
    .onConflict((oc) =>
      oc.column('email').doUpdateSet({ public_key: key.armored, fingerprint: key.fingerprint, key_set_by: by, updated_at: at }),
    )
    .execute();
}

/** The address bounced: failing until the directory entry is fixed (a new key or address clears it). */
export async function markContactFailing(db: DbOrTx, email: string, reason: string, at: Date): Promise<void> {
  await rememberContact(db, email, at);
  await db
    .updateTable('site_contact')
    .set({ failing: true, last_bounce_reason: reason.slice(0, 500), last_bounce_at: at, updated_at: at })
    .where('email', '=', email.toLowerCase())
    .execute();
}

// ---------------------------------------------------------------------------------------------
// Site nodes as contacts (migration 0041)

const toNodeContact = (r: Selectable<SiteNodeContactTable>): SiteNodeContact => ({
  teamId: r.team_id,
  failing: r.failing,
  lastFailureReason: r.last_failure_reason,
  lastFailureAt: iso(r.last_failure_at),
  updatedAt: iso(r.updated_at)!,
});

/** The exchange gave up on a site.notification to this node: failing until the node takes one again. */
export async function markNodeContactFailing(db: DbOrTx, teamId: string, reason: string, at: Date): Promise<void> {
  const values = { failing: true, last_failure_reason: reason.slice(0, 500), last_failure_at: at, updated_at: at };
  await db
    .insertInto('site_node_contact')
    .values({ team_id: teamId, ...values })
    .onConflict((oc) => oc.column('team_id').doUpdateSet(values))
    .execute();
}

/** The node took a site.notification: no longer failing (the last failure is kept for the record). */
export async function clearNodeContactFailing(db: DbOrTx, teamId: string, at: Date): Promise<void> {
  await db
    .updateTable('site_node_contact')
    .set({ failing: false, updated_at: at })
    .where('team_id', '=', teamId)
    .where('failing', '=', true)
    .execute();
}

export async function listNodeContacts(db: DbOrTx, failingOnly: boolean): Promise<SiteNodeContact[]> {
  let query = db.selectFrom('site_node_contact').selectAll();
  if (failingOnly) query = query.where('failing', '=', true);
  return (await query.orderBy('team_id').limit(5000).execute()).map(toNodeContact);
}

// ---------------------------------------------------------------------------------------------
// Counter-measure templates

const toTemplate = (r: Selectable<CounterMeasureTable>): CounterMeasure => ({
  id: r.id,
  title: r.title,
  category: r.category as CounterMeasure['category'],
  types: r.types as CounterMeasure['types'],
  texts: r.texts,
  source: 'team',
});

export async function listTeamCounterMeasures(db: DbOrTx): Promise<CounterMeasure[]> {
  return (await db.selectFrom('counter_measure').selectAll().orderBy('id').limit(1000).execute()).map(toTemplate);
}

export async function upsertCounterMeasure(db: DbOrTx, c: Omit<CounterMeasure, 'source'>, by: string, at: Date): Promise<void> {
  const values = {
    title: c.title,
    category: c.category,
    types: JSON.stringify(c.types),
    texts: JSON.stringify(c.texts),
    updated_by: by,
    updated_at: at,
  };
  await db
    .insertInto('counter_measure')
    .values({ id: c.id, ...values })
    .onConflict((oc) => oc.column('id').doUpdateSet(values))
    .execute();
}

export async function deleteCounterMeasure(db: DbOrTx, id: string): Promise<boolean> {
  const result = await db.deleteFrom('counter_measure').where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}
