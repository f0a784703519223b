import { useState } from 'preact/hooks';
import { api, problemText, unwrap, type Schemas } from '../api';
import { DateTime, Loading, Problem, Tlp, useLoad } from '../components';
import { RETRACTION_REASONS, TLPS } from '../enums';
import { t } from '../i18n';

type Correction = Schemas['CorrectionView'];

/**
 * Label changes and retractions of a report (POST/GET /incidents/{ref}/corrections): the
 * originator re-labels or retracts everywhere the report went, and sees which copies
 * acknowledged. A copy received from another team lists what its originator sent; the node
 * refuses a correction from a holder (409 correction-not-originator), shown as such.
 */
export function IncidentCorrections(props: { incident: Schemas['Incident']; canWrite: boolean; onCorrected: () => void }) {
  const { incident, canWrite, onCorrected } = props;
  const path = { ref: incident.ref };
  const list = useLoad(
    () => unwrap(api().GET('/api/v1/incidents/{ref}/corrections', { params: { path } })),
    [incident.ref, incident.version],
  );
  return (
    <section aria-labelledby="corrections-title">
      <h2 id="corrections-title">{t('corrections.title')}</h2>
      <Loading state={list}>{(page) => <CorrectionList items={page.items} />}</Loading>
      {canWrite && !incident.retracted && (
        <CorrectionForm
          incident={incident}
          onDone={() => {
            list.reload();
            onCorrected();
          }}
        />
      )}
    </section>
  );
}

function CorrectionList({ items }: { items: Correction[] }) {
  if (items.length === 0) return <p class="muted">{t('common.none')}</p>;
  return (
    <ul class="plain" data-testid="corrections">
      {items.map((c) => (
        <li key={c.id}>
          <p>
            <strong>{t(`corrections.kind.${c.kind}`)}</strong>
            {c.tlp && (
              <>
                {' → '}
                <Tlp tlp={c.tlp} />
              </>
            )}
            {c.reason && <> · {t(`retraction.${c.reason}`)}</>} · {t(`corrections.state.${c.state}`)} · {c.originator} ({c.originatorRef}) ·{' '}
            <DateTime value={c.createdAt} />
          </p>
          {c.note && <p class="note">{c.note}</p>}
          {c.noteRedacted && c.noteRedacted.length > 0 && (
            <p class="muted">{t('corrections.noteRedacted', { sections: c.noteRedacted.join(', ') })}</p>
          )}
          {c.holders.length > 0 && (
            <table class="list">
              <caption>{t('corrections.holders')}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('corrections.holder')}</th>
                  <th scope="col">{t('corrections.via')}</th>
                  <th scope="col">{t('corrections.holderState')}</th>
                  <th scope="col">{t('corrections.holderRef')}</th>
                  <th scope="col">{t('corrections.at')}</th>
                </tr>
              </thead>
              <tbody>
                {c.holders.map((h) => (
                  <tr key={h.team}>
                    <td>{h.team}</td>
                    <td>{h.via}</td>
                    <td>{t(`corrections.holder.${h.status}`)}</td>
                    <td>{h.holderRef ?? '—'}</td>
                    <td>
                      <DateTime value={h.at} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </li>
      ))}
    </ul>
  );
}

function CorrectionForm({ incident, onDone }: { incident: Schemas['Incident']; onDone: () => void }) {
  const [kind, setKind] = useState<'relabel' | 'retract'>('relabel');
  const [tlp, setTlp] = useState<Schemas['Incident']['tlp']>(incident.tlp);
  const [reason, setReason] = useState<NonNullable<Schemas['CorrectionView']['reason']>>('false-positive');
  const [note, setNote] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = (e: Event) => {
    e.preventDefault();
    const body: Schemas['CorrectionCreate'] =
      kind === 'relabel' ? { kind, tlp } : { kind, reason, ...(note.trim() ? { note: note.trim() } : {}) };
    setBusy(true);
    setError(null);
    unwrap(api().POST('/api/v1/incidents/{ref}/corrections', { params: { path: { ref: incident.ref } }, body })).then(
      () => {
        setBusy(false);
        setNote('');
        onDone();
      },
      (err: unknown) => {
        setBusy(false);
        setError(problemText(err));
      },
    );
  };
  return (
    <form class="stacked" onSubmit={submit} data-testid="correction-form">
      <p class="muted">{t('corrections.explain')}</p>
      <div class="field">
        <label for="correction-kind">{t('corrections.kind')}</label>
        <select id="correction-kind" value={kind} onChange={(e) => setKind(e.currentTarget.value as typeof kind)}>
          <option value="relabel">{t('corrections.kind.relabel')}</option>
          <option value="retract">{t('corrections.kind.retract')}</option>
        </select>
      </div>
      {kind === 'relabel' ? (
        <div class="field">
          <label for="correction-tlp">{t('corrections.newTlp')}</label>
          <select id="correction-tlp" value={tlp} onChange={(e) => setTlp(e.currentTarget.value as typeof tlp)}>
            {TLPS.map((v) => (
              <option key={v} value={v}>
                {v}
              </option>
            ))}
          </select>
        </div>
      ) : (
        <>
          <div class="field">
            <label for="correction-reason">{t('corrections.reason')}</label>
            <select id="correction-reason" value={reason} onChange={(e) => setReason(e.currentTarget.value as typeof reason)}>
              {RETRACTION_REASONS.map((r) => (
                <option key={r} value={r}>
                  {t(`retraction.${r}`)}
                </option>
              ))}
            </select>
          </div>
          <div class="field">
            <label for="correction-note">{t('corrections.note')}</label>
            <textarea id="correction-note" rows={3} maxLength={2000} value={note} onInput={(e) => setNote(e.currentTarget.value)} />
          </div>
          {/* A retraction cannot be undone: a required box instead of a dialog (the page opens none). */}
          <label>
            <input type="checkbox" name="confirmRetract" required /> {t('corrections.confirmRetract')}
          </label>
        </>
      )}
      <button type="submit" disabled={busy}>
        {t('corrections.submit')}
      </button>
      <Problem text={error} />
    </form>
  );
}
