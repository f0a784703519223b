import { useState } from 'preact/hooks';
import { api, unwrap, type Schemas } from '../api';
import { ActionResult, DateTime, Field, Loading, Tlp, useAction, useLoad } from '../components';
import { t } from '../i18n';
import { incidentHref } from '../router';
import { CaseAdvisory } from './case-advisory';
import { CaseForm } from './case-form';

type Case = Schemas['VulnerabilityCase'];
type Status = Schemas['StatementInput']['status'];
const STATUSES: Status[] = ['affected', 'not affected', 'under investigation'];

/**
 * One vulnerability case (GET /cases/{id}): what it is, the questions to its party vendors and
 * their statements (the newest per vendor and product is in force), and its CSAF advisory. A
 * handler asks the parties (POST .../questions) and records a statement given by phone or
 * pasted clear-signed (POST .../statements), and changes the case (PATCH). Statements come from
 * vendors: text only.
 */
export function CaseDetailPage({ caseId, canWrite }: { caseId: string; canWrite: boolean }) {
  const kase = useLoad(() => unwrap(api().GET('/api/v1/cases/{id}', { params: { path: { id: caseId } } })), [caseId]);
  return (
    <Loading state={kase}>
      {(c) => (
        <section data-testid="case">
          <h1>
            {c.id}: {c.title}
          </h1>
          <dl class="facts">
            <Field label={t('incident.tlp')}>
              <Tlp tlp={c.tlp} />
            </Field>
            <Field label={t('cases.description')}>
              <span class="text-block">{c.description}</span>
            </Field>
            <Field label={t('cases.cves')}>{c.cveIds.join(', ')}</Field>
            <Field label={t('cases.embargo')}>
              <DateTime value={c.embargoUntil} />
            </Field>
            <Field label={t('cases.products')}>
              <ul class="plain">
                {c.products.map((p) => (
                  <li key={`${p.vendor}/${p.product}`}>
                    {p.vendor}: {p.product} ({p.versions.join(', ')})
                  </li>
                ))}
              </ul>
            </Field>
            <Field label={t('cases.parties')}>{c.parties.join(', ')}</Field>
            <Field label={t('cases.incidents')}>
              {c.incidents.length === 0
                ? null
                : c.incidents.map((ref, n) => (
                    <span key={ref}>
                      {n > 0 && ', '}
                      <a href={incidentHref(ref)}>{ref}</a>
                    </span>
                  ))}
            </Field>
            <Field label={t('incident.updatedAt')}>
              <DateTime value={c.updatedAt} />
            </Field>
          </dl>
          {canWrite && <EditCase kase={c} onSaved={kase.reload} />}
          <Questions kase={c} canWrite={canWrite} onChanged={kase.reload} />
          <Statements kase={c} canWrite={canWrite} onChanged={kase.reload} />
          <CaseAdvisory caseId={c.id} canWrite={canWrite} />
        </section>
      )}
    </Loading>
  );
}

/** The case's fields changed in place: the form opens on the case as it stands and sends what differs. */
function EditCase({ kase, onSaved }: { kase: Case; onSaved: () => void }) {
  const [open, setOpen] = useState(false);
  return (
    <div>
      <button type="button" aria-expanded={open} onClick={() => setOpen(!open)}>
        {t('caseForm.edit', { id: kase.id })}
      </button>
      {open && <CaseForm kase={kase} onSaved={onSaved} />}
    </div>
  );
}

function Questions({ kase, canWrite, onChanged }: { kase: Case; canWrite: boolean; onChanged: () => void }) {
  const action = useAction();
  return (
    <section aria-labelledby="case-questions">
      <h2 id="case-questions">{t('cases.questions')}</h2>
      {kase.questions.length === 0 ? (
        <p class="muted">{t('cases.noQuestions')}</p>
      ) : (
        <div class="scroll">
          <table class="list" data-testid="case-questions">
            <caption class="visually-hidden">{t('cases.questions')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('cases.vendor')}</th>
                <th scope="col">{t('notifications.channel')}</th>
                <th scope="col">{t('notifications.state')}</th>
                <th scope="col">{t('cases.delivery')}</th>
                <th scope="col">{t('cases.askedAt')}</th>
              </tr>
            </thead>
            <tbody>
              {kase.questions.map((q) => (
                <tr key={q.id}>
                  <td>{q.vendor ?? '—'}</td>
                  <td>{t(`cases.channel.${q.channel}`)}</td>
                  <td>{t(`cases.questionState.${q.state}`)}</td>
                  <td>{q.delivery ?? '—'}</td>
                  <td>
                    <DateTime value={q.createdAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {canWrite && (
        <button
          type="button"
          disabled={action.busy}
          onClick={() =>
            action.run(
              () => unwrap(api().POST('/api/v1/cases/{id}/questions', { params: { path: { id: kase.id } }, body: {} })),
              t('cases.asked'),
              onChanged,
            )
          }
        >
          {t('cases.ask')}
        </button>
      )}
      <ActionResult action={action} />
    </section>
  );
}

function Statements({ kase, canWrite, onChanged }: { kase: Case; canWrite: boolean; onChanged: () => void }) {
  return (
    <section aria-labelledby="case-statements">
      <h2 id="case-statements">{t('cases.statements')}</h2>
      {kase.statements.length === 0 ? (
        <p class="muted">{t('cases.noStatements')}</p>
      ) : (
        <div class="scroll">
          <table class="list" data-testid="case-statements">
            <caption class="visually-hidden">{t('cases.statements')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('cases.vendor')}</th>
                <th scope="col">{t('cases.product')}</th>
                <th scope="col">{t('cases.status')}</th>
                <th scope="col">{t('cases.fixedVersions')}</th>
                <th scope="col">{t('cases.statementText')}</th>
                <th scope="col">{t('cases.provenance')}</th>
                <th scope="col">{t('cases.recorded')}</th>
              </tr>
            </thead>
            <tbody>
              {kase.statements.map((s, n) => (
                <tr key={n}>
                  <td>{s.vendor}</td>
                  <td>{s.product}</td>
                  <td>{t(`cases.vendorStatus.${s.status}`)}</td>
                  <td>{s.fixedVersions.join(', ') || '—'}</td>
                  <td class="text-block">{s.text ?? '—'}</td>
                  <td>{t(`cases.provenance.${s.provenance}`)}</td>
                  <td>
                    {s.recordedBy} <DateTime value={s.recordedAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {canWrite && <StatementForm kase={kase} onRecorded={onChanged} />}
    </section>
  );
}

function StatementForm({ kase, onRecorded }: { kase: Case; onRecorded: () => void }) {
  const [vendor, setVendor] = useState(kase.parties[0] ?? '');
  const [product, setProduct] = useState('');
  const [status, setStatus] = useState<Status>('under investigation');
  const [fixed, setFixed] = useState('');
  const [text, setText] = useState('');
  const [signedText, setSignedText] = useState('');
  const action = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    const fixedVersions = fixed.split(/[\s,]+/).filter(Boolean);
    const body: Schemas['StatementRecord'] = signedText.trim()
      ? { vendor, signedText }
      : {
          vendor,
          product: product.trim(),
          status,
          ...(fixedVersions.length ? { fixedVersions } : {}),
          ...(text.trim() ? { text: text.trim() } : {}),
        };
    action.run(
      () => unwrap(api().POST('/api/v1/cases/{id}/statements', { params: { path: { id: kase.id } }, body })),
      t('cases.recordedDone'),
      () => {
        setProduct('');
        setFixed('');
        setText('');
        setSignedText('');
        onRecorded();
      },
    );
  };
  return (
    <form class="stacked" onSubmit={submit} aria-labelledby="statement-heading" data-testid="statement-form">
      <h3 id="statement-heading">{t('cases.record')}</h3>
      <label>
        {t('cases.vendor')}
        <select value={vendor} onChange={(e) => setVendor(e.currentTarget.value)}>
          {kase.parties.map((p) => (
            <option key={p} value={p}>
              {p}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t('cases.product')}
        <input value={product} maxLength={200} onInput={(e) => setProduct(e.currentTarget.value)} />
      </label>
      <label>
        {t('cases.status')}
        <select value={status} onChange={(e) => setStatus(e.currentTarget.value as Status)}>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {t(`cases.vendorStatus.${s}`)}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t('cases.fixedVersionsField')}
        <input value={fixed} onInput={(e) => setFixed(e.currentTarget.value)} />
      </label>
      <label>
        {t('cases.statementText')}
        <textarea rows={3} value={text} onInput={(e) => setText(e.currentTarget.value)} />
      </label>
      <label>
        {t('cases.signedText')}
        <textarea rows={5} value={signedText} onInput={(e) => setSignedText(e.currentTarget.value)} />
      </label>
      <button type="submit" disabled={action.busy}>
        {t('cases.recordSubmit')}
      </button>
      <ActionResult action={action} />
    </form>
  );
}
