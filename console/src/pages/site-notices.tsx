import { useState } from 'preact/hooks';
import { api, unwrap, type Schemas } from '../api';
import { ActionResult, DateTime, Field, Loading, Tlp, useAction, useLoad } from '../components';
import { t } from '../i18n';

type Received = Schemas['ReceivedSiteNotification'];

/**
 * Site notifications received as a site's node (ADR 0026): what our coordinator's node told us
 * about our own hosts (GET /received-site-notifications). A handler opens one to read the text
 * the sender wrote, then acknowledges it or answers with text (a signed
 * site.notification-answer, audited). Everything here was written by another team: text only.
 */
export function SiteNoticesPage({ canWrite }: { canWrite: boolean }) {
  const list = useLoad(() => unwrap(api().GET('/api/v1/received-site-notifications', {})), []);
  return (
    <section>
      <h1>{t('notices.title')}</h1>
      <p class="muted">{t('notices.explain')}</p>
      <Loading state={list}>
        {(page) =>
          page.items.length === 0 ? (
            <p>{t('notices.none')}</p>
          ) : (
            <>
              {page.items.map((n) => (
                <Notice key={n.id} notice={n} canWrite={canWrite} onChanged={list.reload} />
              ))}
            </>
          )
        }
      </Loading>
    </section>
  );
}

function Notice({ notice: n, canWrite, onChanged }: { notice: Received; canWrite: boolean; onChanged: () => void }) {
  const [open, setOpen] = useState(false);
  const headingId = `notice-${n.id}`;
  return (
    <article class="panel" aria-labelledby={headingId} data-testid={`notice-${n.senderRef}`}>
      <h2 id={headingId}>
        {t('notices.from', { team: n.from, ref: n.senderRef })} · {t(`notices.state.${n.state}`)}
      </h2>
      <dl class="facts">
        <Field label={t('incident.tlp')}>
          <Tlp tlp={n.tlp} />
        </Field>
        <Field label={t('notices.received')}>
          <DateTime value={n.receivedAt} />
        </Field>
        <Field label={t('incident.category')}>
          {t(`category.${n.content.category}`)} · {n.content.type ?? '—'} · {t(`severity.${n.content.severity}`)}
        </Field>
        <Field label={t('incident.firstSeen')}>
          <DateTime value={n.content.firstSeen} />
        </Field>
        <Field label={t('incident.lastSeen')}>
          <DateTime value={n.content.lastSeen} />
        </Field>
        <Field label={t('notices.hosts')}>
          {n.content.hosts.length === 0 ? null : (
            <ul class="plain">
              {n.content.hosts.map((h, i) => (
                <li key={i}>{[h.ip, h.hostname, h.ports?.join(', '), h.protocol, h.description].filter(Boolean).join(' · ')}</li>
              ))}
            </ul>
          )}
        </Field>
        <Field label={t('notices.indicators')}>
          {n.content.indicators.length === 0 ? null : (
            <ul class="plain">
              {n.content.indicators.map((x, i) => (
                <li key={i}>
                  {x.kind}: {x.value}
                  {x.description ? ` · ${x.description}` : ''}
                </li>
              ))}
            </ul>
          )}
        </Field>
        <Field label={t('notices.cves')}>{n.content.cves.join(', ')}</Field>
        <Field label={t('notices.callBack')}>
          {n.content.callBack.teamName} ({n.content.callBack.teamId}) · {n.content.callBack.email}
        </Field>
        {n.answeredBy && (
          <Field label={t('notices.answered')}>
            {n.answeredBy} <DateTime value={n.answeredAt} />
          </Field>
        )}
      </dl>
      <button type="button" aria-expanded={open} onClick={() => setOpen(!open)}>
        {t('notices.read')}
      </button>
      {open && <NoticeText id={n.id} />}
      {canWrite && <Answer notice={n} onChanged={onChanged} />}
    </article>
  );
}

function NoticeText({ id }: { id: string }) {
  const one = useLoad(() => unwrap(api().GET('/api/v1/received-site-notifications/{id}', { params: { path: { id } } })), [id]);
  return (
    <Loading state={one}>
      {(n) => (
        <pre tabIndex={0} data-testid={`notice-text-${id}`}>
          {n.text ?? ''}
        </pre>
      )}
    </Loading>
  );
}

function Answer({ notice, onChanged }: { notice: Received; onChanged: () => void }) {
  const [text, setText] = useState('');
  const action = useAction();
  const path = { id: notice.id };
  const fieldId = `answer-${notice.id}`;
  return (
    <form
      class="stacked"
      onSubmit={(e) => {
        e.preventDefault();
        action.run(
          () => unwrap(api().POST('/api/v1/received-site-notifications/{id}/answer', { params: { path }, body: { text: text.trim() } })),
          t('notices.answeredDone'),
          () => {
            setText('');
            onChanged();
          },
        );
      }}
    >
      {notice.state === 'received' && (
        <p>
          <button
            type="button"
            disabled={action.busy}
            onClick={() =>
              action.run(
                () => unwrap(api().POST('/api/v1/received-site-notifications/{id}/acknowledge', { params: { path } })),
                t('notices.acknowledgedDone'),
                onChanged,
              )
            }
          >
            {t('notices.acknowledge')}
          </button>
        </p>
      )}
      <label for={fieldId}>{t('notices.answerLabel')}</label>
      <textarea id={fieldId} required rows={3} maxLength={20000} value={text} onInput={(e) => setText(e.currentTarget.value)} />
      <button type="submit" disabled={action.busy}>
        {t('notices.answer')}
      </button>
      <ActionResult action={action} />
    </form>
  );
}
