import type { Selectable } from 'kysely';
import type { DbOrTx, Tx } from '../../db/database.js';
import type { ReceivedSiteNotificationTable } from '../../db/notification-tables.js';
import type { NotificationContent, NotificationLanguage } from '../../../schemas/notification.schema.js';

/** SQL of the site notifications our coordinator's node sent us (migration 0037). */

export interface ReceivedRow {
  id: string;
  fromTeam: string;
  messageId: string;
  remoteNotification: string;
  senderRef: string;
  tlp: string;
  language: NotificationLanguage;
  content: NotificationContent;
  text: string;
  follows: string | null;
  state: 'received' | 'acknowledged' | 'answered';
  answeredBy: string | null;
  answeredAt: string | null;
  receivedAt: string;
}

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

const toRow = (r: Selectable<ReceivedSiteNotificationTable>): ReceivedRow => ({
  id: r.id,
  fromTeam: r.from_team,
  messageId: r.message_id,
  remoteNotification: r.remote_notification,
  senderRef: r.sender_ref,
  tlp: r.tlp,
  language: r.language as NotificationLanguage,
  content: r.content as NotificationContent,
  text: r.text,
  follows: r.follows,
  state: r.state as ReceivedRow['state'],
  answeredBy: r.answered_by,
  answeredAt: iso(r.answered_at),
  receivedAt: iso(r.received_at)!,
});

/** Answers false when the sender's notification is already here (a repeat): kept once. */
export async function insertReceived(tx: Tx, row: Omit<ReceivedRow, 'state' | 'answeredBy' | 'answeredAt'>): Promise<boolean> {
  const result = await tx
    .insertInto('received_site_notification')
    .values({
      id: row.id,
      from_team: row.fromTeam,
      message_id: row.messageId,
      remote_notification: row.remoteNotification,
      sender_ref: row.senderRef,
      tlp: row.tlp,
      language: row.language,
      content: JSON.stringify(row.content),
      text: row.text,
      follows: row.follows,
      state: 'received',
      answered_by: null,
      answered_at: null,
      received_at: row.receivedAt,
    })
    .onConflict((oc) => oc.columns(['from_team', 'remote_notification']).doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
}

export async function findReceived(db: DbOrTx, id: string, forUpdate = false): Promise<ReceivedRow | null> {
  let query = db.selectFrom('received_site_notification').selectAll().where('id', '=', id);
  if (forUpdate) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  return row ? toRow(row) : null;
}

/** The newest first, at most `limit`. */
export async function listReceived(db: DbOrTx, limit: number): Promise<ReceivedRow[]> {
  const rows = await db
    .selectFrom('received_site_notification')
    .selectAll()
    .orderBy('received_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  return rows.map(toRow);
}

export async function setReceivedState(tx: Tx, id: string, state: ReceivedRow['state'], by: string, at: Date): Promise<void> {
  await tx.updateTable('received_site_notification').set({ state, answered_by: by, answered_at: at }).where('id', '=', id).execute();
}
