import { useState } from 'preact/hooks';
import { api, unwrap, type Schemas } from '../api';
import { ActionResult, DateTime, Field, Loading, Tlp, useAction, useLoad } from '../components';
import { t } from '../i18n';
import { incidentHref } from '../router';

type Request = Schemas['LawEnforcementRequest'];

/** Reference numbers typed one per line or comma-separated. */
export const refsOf = (text: string) => text.split(/[\s,]+/).filter(Boolean);

/**
 * Law-enforcement requests (issue 17 part 3, ADR 0023): an agency's request, or a report we decide
 * to make, recorded with its legal basis and scope; a handler's decision (approve with the legal
 * basis, or decline with a reason); and for an approved request the signed disclosure package,
 * which holds what the sharing policy allows for that agency (decided and audited by the node).
 */
export function LawEnforcementSection({ canWrite }: { canWrite: boolean }) {
  const list = useLoad(() => unwrap(api().GET('/api/v1/law-enforcement/requests', {})), []);
  return (
    <section aria-labelledby="le-heading" data-testid="law-enforcement">
      <h2 id="le-heading">{t('le.title')}</h2>
      <Loading state={list}>
        {(page) =>
          page.items.length === 0 ? (
            <p class="muted">{t('le.none')}</p>
          ) : (
            <>
              {page.items.map((r) => (
                <RequestCard key={r.id} request={r} canWrite={canWrite} onChanged={list.reload} />
              ))}
            </>
          )
        }
      </Loading>
      {canWrite && <RequestForm onRecorded={list.reload} />}
    </section>
  );
}

function RequestCard({ request: r, canWrite, onChanged }: { request: Request; canWrite: boolean; onChanged: () => void }) {
  const headingId = `le-${r.id}`;
  return (
    <article class="panel" aria-labelledby={headingId} data-testid={`le-${r.agency.id}`}>
      <h3 id={headingId}>
        {r.agency.name} ({r.agency.id}) · {t(`le.state.${r.state}`)}
      </h3>
      <dl class="facts">
        <Field label={t('le.origin')}>{t(`le.origin.${r.origin}`)}</Field>
        <Field label={t('le.officer')}>{r.officer ? `${r.officer.name} · ${r.officer.contact}` : null}</Field>
        <Field label={t('le.legalBasis')}>
          <span class="text-block">{r.legalBasis}</span>
        </Field>
        <Field label={t('le.incidents')}>
          {r.scope.incidents.map((i, n) => (
            <span key={i.id}>
              {n > 0 && ', '}
              <a href={incidentHref(i.ref)}>{i.ref}</a>
            </span>
          ))}
        </Field>
        <Field label={t('le.sections')}>{r.scope.sections ? r.scope.sections.join(', ') : t('le.sectionsAll')}</Field>
        <Field label={t('le.information')}>
          <span class="text-block">{r.scope.information ?? ''}</span>
        </Field>
        <Field label={t('le.text')}>
          <span class="text-block">{r.text ?? ''}</span>
        </Field>
        <Field label={t('le.deadline')}>
          <DateTime value={r.deadline} />
        </Field>
        <Field label={t('le.receivedAt')}>
          <DateTime value={r.receivedAt} />
        </Field>
        <Field label={t('le.recorded')}>
          {r.recordedBy} <DateTime value={r.recordedAt} />
        </Field>
        <Field label={t('le.decision')}>
          {r.decision ? (
            <>
              {t(`le.decision.${r.decision.decision}`)} · {r.decision.by} <DateTime value={r.decision.at} />
              <br />
              <span class="text-block">{r.decision.legalBasis ?? r.decision.reason ?? ''}</span>
            </>
          ) : null}
        </Field>
      </dl>
      {canWrite && r.state === 'pending' && <DecisionForm request={r} onDecided={onChanged} />}
      <Packages request={r} canWrite={canWrite} onChanged={onChanged} />
    </article>
  );
}

function DecisionForm({ request, onDecided }: { request: Request; onDecided: () => void }) {
  const [decision, setDecision] = useState<'approve' | 'decline'>('approve');
  const [why, setWhy] = useState(request.legalBasis);
  const action = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    const body: Schemas['LawEnforcementDecisionCreate'] =
      decision === 'approve' ? { decision, legalBasis: why.trim() } : { decision, reason: why.trim() };
    action.run(
      () => unwrap(api().POST('/api/v1/law-enforcement/requests/{id}/decision', { params: { path: { id: request.id } }, body })),
      t('le.decided'),
      onDecided,
    );
  };
  const name = `le-decision-${request.id}`;
  return (
    <form class="stacked" onSubmit={submit} data-testid={`le-decide-${request.agency.id}`}>
      <fieldset>
        <legend>{t('le.decide')}</legend>
        <label class="radio">
          <input type="radio" name={name} checked={decision === 'approve'} onChange={() => setDecision('approve')} /> {t('le.approve')}
        </label>
        <label class="radio">
          <input type="radio" name={name} checked={decision === 'decline'} onChange={() => setDecision('decline')} /> {t('le.decline')}
        </label>
        <label>
          {decision === 'approve' ? t('le.approveBasis') : t('le.declineReason')}
          <textarea required rows={2} value={why} onInput={(e) => setWhy(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={action.busy}>
          {t('le.decideSubmit')}
        </button>
      </fieldset>
      <ActionResult action={action} />
    </form>
  );
}

function Packages({ request, canWrite, onChanged }: { request: Request; canWrite: boolean; onChanged: () => void }) {
  const [shown, setShown] = useState<Schemas['LawEnforcementPackage'] | null>(null);
  const make = useAction();
  const open = useAction();
  const show = (id: string) =>
    open.run(async () => setShown(await unwrap(api().GET('/api/v1/law-enforcement/packages/{id}', { params: { path: { id } } }))), null);
  return (
    <div>
      {request.packages.length > 0 && (
        <ul class="plain" data-testid={`le-packages-${request.agency.id}`}>
          {request.packages.map((p) => (
            <li key={p.id}>
              {t('le.package', { by: p.createdBy })} <DateTime value={p.createdAt} /> · <code>SHA-256 {p.payloadSha256}</code>{' '}
              <button type="button" disabled={open.busy} onClick={() => show(p.id)}>
                {t('le.showPackage')}
              </button>
            </li>
          ))}
        </ul>
      )}
      {canWrite && request.state === 'approved' && (
        <button
          type="button"
          disabled={make.busy}
          onClick={() =>
            make.run(
              async () =>
                setShown(
                  await unwrap(api().POST('/api/v1/law-enforcement/requests/{id}/packages', { params: { path: { id: request.id } } })),
                ),
              null,
              onChanged,
            )
          }
        >
          {t('le.makePackage')}
        </button>
      )}
      <ActionResult action={make} />
      <ActionResult action={open} />
      {shown && (
        <section aria-label={t('le.packageTitle')} data-testid="le-package">
          <h4>{t('le.packageTitle')}</h4>
          <ul class="plain">
            {shown.incidents.map((i) => (
              <li key={i.id}>
                {i.ref} <Tlp tlp={i.tlp} /> · {t('le.redacted')}: {i.redactions.join(', ') || '—'}
              </li>
            ))}
          </ul>
          <p class="muted">{t('le.packageExplain', { fingerprint: shown.signerFingerprint })}</p>
          <pre tabIndex={0}>{shown.text}</pre>
          <details>
            <summary>{t('le.signatures')}</summary>
            <pre tabIndex={0}>{shown.textSignature}</pre>
            <pre tabIndex={0}>{shown.canonicalJson}</pre>
            <pre tabIndex={0}>{shown.jsonSignature}</pre>
          </details>
        </section>
      )}
    </div>
  );
}

function RequestForm({ onRecorded }: { onRecorded: () => void }) {
  const [v, setV] = useState<Record<string, string>>({ origin: 'inbound' });
  const action = useAction();
  const set = (key: string) => (e: Event) => setV({ ...v, [key]: (e.currentTarget as HTMLInputElement).value });
  const val = (key: string) => (v[key] ?? '').trim();
  const submit = (e: Event) => {
    e.preventDefault();
    const officer =
      val('officerName') && val('officerContact') ? { officer: { name: val('officerName'), contact: val('officerContact') } } : {};
    const body: Schemas['LawEnforcementRequestCreate'] = {
      origin: v.origin as 'inbound' | 'proactive',
      agency: { id: val('agencyId'), name: val('agencyName') },
      ...officer,
      legalBasis: val('legalBasis'),
      scope: { incidents: refsOf(v.incidents ?? ''), ...(val('information') ? { information: val('information') } : {}) },
      ...(val('deadline') ? { deadline: val('deadline') } : {}),
      ...(val('text') ? { text: val('text') } : {}),
    };
    action.run(
      () => unwrap(api().POST('/api/v1/law-enforcement/requests', { body })),
      t('le.recordedDone'),
      () => {
        setV({ origin: 'inbound' });
        onRecorded();
      },
    );
  };
  const text = (key: string, label: Parameters<typeof t>[0], required = false) => (
    <label>
      {t(label)}
      <input required={required} value={v[key] ?? ''} onInput={set(key)} />
    </label>
  );
  return (
    <form class="stacked" onSubmit={submit} aria-labelledby="le-new-heading" data-testid="le-form">
      <h3 id="le-new-heading">{t('le.record')}</h3>
      <label>
        {t('le.origin')}
        <select value={v.origin} onChange={set('origin')}>
          <option value="inbound">{t('le.origin.inbound')}</option>
          <option value="proactive">{t('le.origin.proactive')}</option>
        </select>
      </label>
      {text('agencyId', 'le.agencyId', true)}
      {text('agencyName', 'le.agencyName', true)}
      {/* The node asks an inbound request to name the officer who made it. */}
      {text('officerName', 'le.officerName', v.origin === 'inbound')}
      {text('officerContact', 'le.officerContact', v.origin === 'inbound')}
      <label>
        {t('le.legalBasis')}
        <textarea required rows={2} value={v.legalBasis ?? ''} onInput={set('legalBasis')} />
      </label>
      {text('incidents', 'le.incidentsField', true)}
      {text('information', 'le.information')}
      {text('deadline', 'le.deadlineField')}
      <label>
        {t('le.text')}
        <textarea rows={4} value={v.text ?? ''} onInput={set('text')} />
      </label>
      <button type="submit" disabled={action.busy}>
        {t('le.recordSubmit')}
      </button>
      <ActionResult action={action} />
    </form>
  );
}
