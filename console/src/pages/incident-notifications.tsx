import { useState } from 'preact/hooks';
import { api, problemText, unwrap, type Schemas } from '../api';
import { DateTime, Loading, Problem, Tlp, useLoad } from '../components';
import { t } from '../i18n';
import { NotificationAdvice } from './notification-advice';

type Notification = Schemas['SiteNotification'];
/** The reasons the node states (schemas/notification.schema.ts); another shows as the node wrote it. */
const REASONS = ['no-poc-email', 'poc-key-required', 'policy-denied'] as const;

/**
 * Notifications to the sites an incident involves (ADR 0026): propose one per site from the
 * constituency directory (each decision audited by the node), read why a site was refused or is
 * unreachable, approve a draft (the policy decides again, then the signed mail or the site's node),
 * and record an acknowledgement the site gave by phone or in person. Sites' names and reasons are
 * data: text only.
 */
export function IncidentNotifications({ incidentRef, canWrite }: { incidentRef: string; canWrite: boolean }) {
  const path = { ref: incidentRef };
  const list = useLoad(() => unwrap(api().GET('/api/v1/incidents/{ref}/notifications', { params: { path } })), [incidentRef]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const act = (work: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    work().then(
      () => {
        setBusy(false);
        list.reload();
      },
      (e: unknown) => {
        setBusy(false);
        setError(problemText(e));
      },
    );
  };
  return (
    <section aria-labelledby="notifications-title">
      <h2 id="notifications-title">{t('notifications.title')}</h2>
      {canWrite && (
        <p>
          <button
            type="button"
            disabled={busy}
            onClick={() => act(() => unwrap(api().POST('/api/v1/incidents/{ref}/notifications/propose', { params: { path } })))}
          >
            {t('notifications.propose')}
          </button>
        </p>
      )}
      <Problem text={error} />
      <Loading state={list}>
        {(page) =>
          page.items.length === 0 ? (
            <p class="muted">{t('common.none')}</p>
          ) : (
            <div class="scroll">
              <table class="list" data-testid="notifications">
                <caption class="visually-hidden">{t('notifications.title')}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t('notifications.site')}</th>
                    <th scope="col">{t('notifications.state')}</th>
                    <th scope="col">{t('notifications.why')}</th>
                    <th scope="col">TLP</th>
                    <th scope="col">{t('notifications.channel')}</th>
                    <th scope="col">{t('notifications.updated')}</th>
                    {canWrite && <th scope="col">{t('notifications.actions')}</th>}
                  </tr>
                </thead>
                <tbody>
                  {page.items.map((n) => (
                    <NotificationRow key={n.id} n={n} busy={busy} act={act} onChanged={list.reload} canWrite={canWrite} />
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Loading>
    </section>
  );
}

function NotificationRow(props: {
  n: Notification;
  busy: boolean;
  act: (work: () => Promise<unknown>) => void;
  onChanged: () => void;
  canWrite: boolean;
}) {
  const { n } = props;
  const reason =
    n.reason && (REASONS as readonly string[]).includes(n.reason)
      ? t(`notifications.reason.${n.reason as (typeof REASONS)[number]}`)
      : n.reason;
  const why = [reason, n.deniedBy.length ? n.deniedBy.join(', ') : null].filter(Boolean).join(' · ');
  return (
    <tr data-testid={`notification-${n.site.id}`}>
      <td>
        {n.site.name}
        {n.poc && (
          <span class="muted">
            {' '}
            ({n.poc.name}, {n.poc.email})
          </span>
        )}
        {n.follows && <span class="muted"> · {t('notifications.followUp')}</span>}
      </td>
      <td>{t(`notifications.state.${n.state}`)}</td>
      <td>{why || (n.reasons.length ? n.reasons.join('; ') : '—')}</td>
      <td>{n.tlp ? <Tlp tlp={n.tlp} /> : '—'}</td>
      <td>{t(`notifications.channel.${n.channel}`)}</td>
      <td>
        <DateTime value={n.updatedAt} />
      </td>
      {props.canWrite && <Actions {...props} />}
    </tr>
  );
}

/** What a handler does with the notification in its state: approve or edit a draft, record an acknowledgement. */
function Actions(props: { n: Notification; busy: boolean; act: (work: () => Promise<unknown>) => void; onChanged: () => void }) {
  const { n, busy, act, onChanged } = props;
  const [via, setVia] = useState('');
  const [editing, setEditing] = useState(false);
  const path = { id: n.id };
  return (
    <td>
      {n.state === 'drafted' && (
        <button
          type="button"
          disabled={busy}
          onClick={() => act(() => unwrap(api().POST('/api/v1/notifications/{id}/approve', { params: { path } })))}
        >
          {t('notifications.approve')}
        </button>
      )}
      {n.state === 'drafted' && (
        <>
          {' '}
          <button type="button" aria-expanded={editing} onClick={() => setEditing(!editing)}>
            {t('advice.edit')}
          </button>
          {editing && <NotificationAdvice n={n} onSaved={onChanged} />}
        </>
      )}
      {(n.state === 'sent' || n.state === 'delivered' || n.state === 'bounced') && (
        <form
          class="inline"
          onSubmit={(e) => {
            e.preventDefault();
            act(() =>
              unwrap(
                api().POST('/api/v1/notifications/{id}/acknowledge', { params: { path }, body: via.trim() ? { via: via.trim() } : {} }),
              ),
            );
          }}
        >
          <label>
            {t('notifications.via')} <input value={via} maxLength={200} onInput={(e) => setVia(e.currentTarget.value)} />
          </label>{' '}
          <button type="submit" disabled={busy}>
            {t('notifications.acknowledge')}
          </button>
        </form>
      )}
    </td>
  );
}
