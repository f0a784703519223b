import { useState } from 'preact/hooks';
import { api, unwrap, type Schemas } from '../api';
import { ActionResult, DateTime, Field, Loading, useAction, useLoad } from '../components';
import { t } from '../i18n';
import { incidentHref } from '../router';
import { refsOf } from './law-enforcement';

type Statement = Schemas['PressStatement'];

/**
 * Press statements (issue 17 part 4, ADR 0023): drafted only from TLP:CLEAR incidents (422
 * press-not-clear otherwise), approved by a second handler (never the drafter), which publishes
 * them at /press, and withdrawn with a reason. Each step is audited by the node.
 */
export function PressSection({ canWrite }: { canWrite: boolean }) {
  const list = useLoad(() => unwrap(api().GET('/api/v1/press/statements', {})), []);
  return (
    <section aria-labelledby="press-heading" data-testid="press">
      <h2 id="press-heading">{t('press.title')}</h2>
      <Loading state={list}>
        {(page) =>
          page.items.length === 0 ? (
            <p class="muted">{t('press.none')}</p>
          ) : (
            <>
              {page.items.map((s) => (
                <StatementCard key={s.id} statement={s} canWrite={canWrite} onChanged={list.reload} />
              ))}
            </>
          )
        }
      </Loading>
      {canWrite && <DraftForm onDrafted={list.reload} />}
    </section>
  );
}

function StatementCard({ statement: s, canWrite, onChanged }: { statement: Statement; canWrite: boolean; onChanged: () => void }) {
  const action = useAction();
  const [reason, setReason] = useState('');
  const path = { id: s.id };
  const headingId = `press-${s.id}`;
  return (
    <article class="panel" aria-labelledby={headingId} data-testid="press-statement">
      <h3 id={headingId}>
        {s.title} · {t(`press.state.${s.state}`)}
      </h3>
      <p class="text-block">{s.text}</p>
      <dl class="facts">
        <Field label={t('le.incidents')}>
          {s.incidents.map((i, n) => (
            <span key={i.id}>
              {n > 0 && ', '}
              <a href={incidentHref(i.ref)}>{i.ref}</a>
            </span>
          ))}
        </Field>
        <Field label={t('press.drafted')}>
          {s.draftedBy} <DateTime value={s.draftedAt} />
        </Field>
        <Field label={t('press.approved')}>
          {s.approvedBy ? (
            <>
              {s.approvedBy} <DateTime value={s.publishedAt} />
            </>
          ) : null}
        </Field>
        {s.withdrawnAt && (
          <Field label={t('press.withdrawn')}>
            {s.withdrawnBy} <DateTime value={s.withdrawnAt} /> · <span class="text-block">{s.withdrawalReason ?? ''}</span>
          </Field>
        )}
      </dl>
      {canWrite && s.state === 'draft' && (
        <>
          <p class="muted">{t('press.secondHandler')}</p>
          <button
            type="button"
            disabled={action.busy}
            onClick={() =>
              action.run(
                () => unwrap(api().POST('/api/v1/press/statements/{id}/approve', { params: { path } })),
                t('press.publishedDone'),
                onChanged,
              )
            }
          >
            {t('press.approve')}
          </button>
        </>
      )}
      {canWrite && s.state === 'published' && (
        <form
          class="inline"
          onSubmit={(e) => {
            e.preventDefault();
            action.run(
              () => unwrap(api().POST('/api/v1/press/statements/{id}/withdraw', { params: { path }, body: { reason: reason.trim() } })),
              t('press.withdrawnDone'),
              onChanged,
            );
          }}
        >
          <label for={`withdraw-${s.id}`}>{t('press.withdrawReason')}</label>
          <input id={`withdraw-${s.id}`} required value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
          <button type="submit" disabled={action.busy}>
            {t('press.withdraw')}
          </button>
        </form>
      )}
      <ActionResult action={action} />
    </article>
  );
}

function DraftForm({ onDrafted }: { onDrafted: () => void }) {
  const [title, setTitle] = useState('');
  const [text, setText] = useState('');
  const [incidents, setIncidents] = useState('');
  const action = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    action.run(
      () =>
        unwrap(api().POST('/api/v1/press/statements', { body: { title: title.trim(), text: text.trim(), incidents: refsOf(incidents) } })),
      t('press.draftedDone'),
      () => {
        setTitle('');
        setText('');
        setIncidents('');
        onDrafted();
      },
    );
  };
  return (
    <form class="stacked" onSubmit={submit} aria-labelledby="press-new-heading" data-testid="press-form">
      <h3 id="press-new-heading">{t('press.draft')}</h3>
      <label>
        {t('press.statementTitle')}
        <input required maxLength={300} value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
      </label>
      <label>
        {t('press.text')}
        <textarea required rows={6} value={text} onInput={(e) => setText(e.currentTarget.value)} />
      </label>
      <label>
        {t('press.incidents')}
        <input value={incidents} onInput={(e) => setIncidents(e.currentTarget.value)} />
      </label>
      <p class="muted">{t('press.clearOnly')}</p>
      <button type="submit" disabled={action.busy}>
        {t('press.draftSubmit')}
      </button>
      <ActionResult action={action} />
    </form>
  );
}
