import { useState } from 'preact/hooks';
import { api, HikeshiProblemError, slowApi, unwrap, type Schemas } from '../api';
import { ActionResult, DateTime, Field, Loading, useAction, useLoad } from '../components';
import { t } from '../i18n';
import { RowEditor, rowsToItems, type Column, type Row } from './incident-rows';

type Advisory = Schemas['CsafAdvisory'];
type Edits = Schemas['AdvisoryEdits'];
const NOTE_CATEGORIES: Schemas['CsafNote']['category'][] = [
  'summary',
  'details',
  'general',
  'description',
  'faq',
  'legal_disclaimer',
  'other',
];
const NOTE_COLUMNS: Column[] = [
  { key: 'category', kind: 'select', values: NOTE_CATEGORIES },
  { key: 'title', kind: 'text' },
  { key: 'text', kind: 'area', required: true },
];
const REMEDIATION_COLUMNS: Column[] = [
  { key: 'vendor', kind: 'text', required: true },
  { key: 'product', kind: 'text', required: true },
  { key: 'details', kind: 'area', required: true },
  { key: 'url', kind: 'text' },
];

/**
 * A case's CSAF 2.0 advisory (ADR 0024): drafted once from the case (POST .../advisory), shown as
 * publishing it now would make it (GET), the handler's notes and remediation texts edited row by
 * row (PUT .../advisory/edits), and published or revised (POST .../advisory/publish): the node
 * checks the embargo (409 embargo-in-force) and the CSAF validator (422 csaf-invalid) first.
 */
export function CaseAdvisory({ caseId, canWrite }: { caseId: string; canWrite: boolean }) {
  const path = { id: caseId };
  const advisory = useLoad(
    () =>
      unwrap(api().GET('/api/v1/cases/{id}/advisory', { params: { path } })).then(
        (a) => ({ advisory: a as Advisory | null }),
        (e: unknown) => {
          // Not drafted yet: the page offers to draft it.
          if (e instanceof HikeshiProblemError && e.status === 404) return { advisory: null };
          throw e;
        },
      ),
    [caseId],
  );
  const draft = useAction();
  return (
    <section aria-labelledby="case-advisory" data-testid="advisory">
      <h2 id="case-advisory">{t('advisory.title')}</h2>
      <Loading state={advisory}>
        {({ advisory: a }) =>
          a === null ? (
            <>
              <p class="muted">{t('advisory.none')}</p>
              {canWrite && (
                <button
                  type="button"
                  disabled={draft.busy}
                  onClick={() =>
                    draft.run(() => unwrap(api().POST('/api/v1/cases/{id}/advisory', { params: { path } })), null, advisory.reload)
                  }
                >
                  {t('advisory.draft')}
                </button>
              )}
              <ActionResult action={draft} />
            </>
          ) : (
            <AdvisoryView advisory={a} canWrite={canWrite} onChanged={advisory.reload} />
          )
        }
      </Loading>
    </section>
  );
}

function AdvisoryView({ advisory: a, canWrite, onChanged }: { advisory: Advisory; canWrite: boolean; onChanged: () => void }) {
  return (
    <>
      <dl class="facts">
        <Field label={t('advisory.trackingId')}>{a.trackingId}</Field>
        <Field label={t('advisory.version')}>{a.publishedVersion === 0 ? t('advisory.unpublished') : String(a.publishedVersion)}</Field>
        <Field label={t('advisory.publishedAt')}>
          <DateTime value={a.publishedAt} />
        </Field>
        <Field label={t('advisory.location')}>{a.location ?? (a.publishedVersion > 0 ? t('advisory.handlersOnly') : null)}</Field>
      </dl>
      <details>
        <summary>{t('advisory.document')}</summary>
        <pre tabIndex={0} data-testid="advisory-document">
          {JSON.stringify(a.document, null, 2)}
        </pre>
      </details>
      {canWrite ? <EditsForm caseId={a.caseId} edits={a.edits} onSaved={onChanged} /> : <EditsList edits={a.edits} />}
      {canWrite && <PublishForm caseId={a.caseId} onPublished={onChanged} />}
    </>
  );
}

function EditsList({ edits }: { edits: Edits }) {
  return (
    <ul class="plain">
      {(edits.notes ?? []).map((n, i) => (
        <li key={i}>
          {n.category}: {n.title ? `${n.title} — ` : ''}
          <span class="text-block">{n.text}</span>
        </li>
      ))}
    </ul>
  );
}

const toRows = (items: ReadonlyArray<Record<string, unknown>> | undefined): Row[] =>
  (items ?? []).map((item) => Object.fromEntries(Object.entries(item).map(([k, v]) => [k, String(v ?? '')])));

function EditsForm({ caseId, edits, onSaved }: { caseId: string; edits: Edits; onSaved: () => void }) {
  const [notes, setNotes] = useState<Row[]>(() => toRows(edits.notes));
  const [remediations, setRemediations] = useState<Row[]>(() => toRows(edits.remediations));
  const action = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    const body = {
      notes: rowsToItems(notes, NOTE_COLUMNS),
      remediations: rowsToItems(remediations, REMEDIATION_COLUMNS),
    } as Edits;
    action.run(
      () => unwrap(api().PUT('/api/v1/cases/{id}/advisory/edits', { params: { path: { id: caseId } }, body })),
      t('advisory.saved'),
      onSaved,
    );
  };
  return (
    <form class="stacked" onSubmit={submit} data-testid="advisory-edits">
      <RowEditor id="notes" title="advisory.notes" item="advisory.note" columns={NOTE_COLUMNS} rows={notes} onChange={setNotes} />
      <RowEditor
        id="remediations"
        title="advisory.remediations"
        item="advisory.remediation"
        columns={REMEDIATION_COLUMNS}
        rows={remediations}
        onChange={setRemediations}
      />
      <button type="submit" disabled={action.busy}>
        {t('advisory.saveEdits')}
      </button>
      <ActionResult action={action} />
    </form>
  );
}

function PublishForm({ caseId, onPublished }: { caseId: string; onPublished: () => void }) {
  const [summary, setSummary] = useState('');
  const [published, setPublished] = useState<Schemas['CsafPublished'] | null>(null);
  const action = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    action.run(
      async () =>
        setPublished(
          await unwrap(
            slowApi().POST('/api/v1/cases/{id}/advisory/publish', {
              params: { path: { id: caseId } },
              body: summary.trim() ? { summary: summary.trim() } : {},
            }),
          ),
        ),
      null,
      onPublished,
    );
  };
  return (
    <form class="stacked" onSubmit={submit} data-testid="advisory-publish">
      <label>
        {t('advisory.summary')}
        <input maxLength={500} value={summary} onInput={(e) => setSummary(e.currentTarget.value)} />
      </label>
      <p class="muted">{t('advisory.publishExplain')}</p>
      <button type="submit" class="primary" disabled={action.busy}>
        {t('advisory.publish')}
      </button>
      <ActionResult action={action} />
      {published && (
        <p role="status" data-testid="advisory-published">
          {t('advisory.published', { version: published.version, where: published.location ?? t('advisory.handlersOnly') })}{' '}
          <code class="wrap">SHA-256 {published.sha256}</code>
        </p>
      )}
    </form>
  );
}
