import { useEffect, useState } from 'preact/hooks';
import { api, problemText, unwrap, type Schemas } from '../api';
import { DateTime, Field, Loading, Problem, Tlp, useLoad } from '../components';
import { nextPhases, PHASES } from '../enums';
import { t } from '../i18n';
import { incidentHref } from '../router';
import { IncidentCorrections } from './incident-corrections';
import { ReportFacts } from './incident-facts';
import { IncidentNotifications } from './incident-notifications';

type Incident = Schemas['Incident'];

/** One incident: every field of the report, the nine steps, the journal, and who holds a copy. */
export function IncidentDetailPage({ incidentRef, canWrite }: { incidentRef: string; canWrite: boolean }) {
  const path = { ref: incidentRef };
  const incident = useLoad(() => unwrap(api().GET('/api/v1/incidents/{ref}', { params: { path } })), [incidentRef]);
  const shares = useLoad(() => unwrap(api().GET('/api/v1/incidents/{ref}/shares', { params: { path } })), [incidentRef]);
  const journal = useLoad(() => unwrap(api().GET('/api/v1/incidents/{ref}/journal', { params: { path } })), [incidentRef]);
  // A share in flight: read its state again until the peer's receipt (and reference number) is in.
  const inFlight = (shares.data?.items ?? []).some(
    (s) => s.direction === 'outgoing' && (s.state !== 'delivered' || !s.peerRef) && s.state !== 'failed',
  );
  useEffect(() => {
    if (!inFlight) return;
    const timer = setInterval(shares.reload, 2000);
    return () => clearInterval(timer);
  }, [inFlight, shares.reload]);
  const reload = () => {
    incident.reload();
    journal.reload();
    shares.reload();
  };
  return (
    <Loading state={incident}>
      {(i) => (
        <article>
          <h1>
            <span data-testid="incident-ref">{i.ref}</span>: {i.title}
          </h1>
          <p>
            <Tlp tlp={i.tlp} /> · {t(`category.${i.category}`)} · {t(`severity.${i.severity}`)}
            {i.retracted ? (
              <strong class="warning">
                {' '}
                · {t('incident.retracted')} ({i.retracted.reason})
              </strong>
            ) : null}
          </p>
          {canWrite ? (
            <p>
              <a class="button" href={incidentHref(i.ref, '/share')}>
                {t('incident.shareWith')}
              </a>
            </p>
          ) : (
            <p class="muted" data-testid="read-only">
              {t('incident.readOnly')}
            </p>
          )}
          <Phases incident={i} canWrite={canWrite} onMoved={reload} />
          <ReportFacts incident={i} />
          <section aria-labelledby="copies-title">
            <h2 id="copies-title">{t('incident.copies')}</h2>
            <Loading state={shares}>{(list) => <SharesTable shares={list.items} externalRefs={i.externalRefs} />}</Loading>
          </section>
          <IncidentNotifications incidentRef={i.ref} canWrite={canWrite} />
          <IncidentCorrections incident={i} canWrite={canWrite} onCorrected={reload} />
          <section aria-labelledby="journal-title">
            <h2 id="journal-title">{t('journal.title')}</h2>
            {canWrite && <NoteForm incidentRef={i.ref} onAdded={journal.reload} />}
            <Loading state={journal}>{(page) => <Journal entries={page.items} />}</Loading>
          </section>
        </article>
      )}
    </Loading>
  );
}

/**
 * The nine steps (§5) with the current one marked, and the moves the node allows from it: to
 * handlers and admins only, since the node refuses a reader's move (403) and a button that can
 * only fail is noise.
 */
function Phases({ incident, canWrite, onMoved }: { incident: Incident; canWrite: boolean; onMoved: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const move = (phase: Incident['phase']) => {
    setBusy(true);
    setError(null);
    api()
      .PATCH('/api/v1/incidents/{ref}', {
        params: { path: { ref: incident.ref }, header: { 'if-match': `"${incident.version}"` } },
        body: { phase },
      })
      .then(
        () => {
          setBusy(false);
          onMoved();
        },
        (e: unknown) => {
          setBusy(false);
          setError(problemText(e));
        },
      );
  };
  return (
    <section aria-labelledby="phase-title">
      <h2 id="phase-title">{t('incident.phase')}</h2>
      <ol class="steps">
        {PHASES.map((p) => (
          <li key={p} aria-current={p === incident.phase ? 'step' : undefined} class={p === incident.phase ? 'current' : undefined}>
            {t(`phase.${p}`)}
          </li>
        ))}
      </ol>
      <p data-testid="phase">{t('incident.phaseNow', { phase: t(`phase.${incident.phase}`) })}</p>
      {canWrite && (
        <div class="actions" role="group" aria-label={t('incident.moveTo')}>
          {nextPhases(incident.phase).map((p) => (
            <button key={p} type="button" disabled={busy} onClick={() => move(p)} data-phase={p}>
              {t('incident.moveToPhase', { phase: t(`phase.${p}`) })}
            </button>
          ))}
        </div>
      )}
      <Problem text={error} />
    </section>
  );
}

function SharesTable({ shares, externalRefs }: { shares: Schemas['Share'][]; externalRefs: Schemas['ExternalRef'][] }) {
  return (
    <>
      {shares.length === 0 ? (
        <p>{t('shares.none')}</p>
      ) : (
        <table class="list" data-testid="shares">
          <caption class="visually-hidden">{t('incident.copies')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('shares.peer')}</th>
              <th scope="col">{t('shares.direction')}</th>
              <th scope="col">{t('shares.state')}</th>
              <th scope="col">{t('shares.peerRef')}</th>
              <th scope="col">{t('shares.receiptAt')}</th>
              <th scope="col">{t('shares.detail')}</th>
            </tr>
          </thead>
          <tbody>
            {shares.map((s) => (
              <tr key={`${s.peer}-${s.direction}`}>
                <td>{s.peer}</td>
                <td>{t(`shares.direction.${s.direction}`)}</td>
                <td data-testid={`share-state-${s.peer}`}>
                  {t(`shares.state.${s.state}`)}
                  {s.lastError ? <span class="muted"> ({s.lastError})</span> : null}
                </td>
                <td data-testid={`share-peer-ref-${s.peer}`}>{s.peerRef ?? '—'}</td>
                <td>
                  <DateTime value={s.receiptAt} />
                </td>
                <td>{s.detail ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h3>{t('incident.externalRefs')}</h3>
      {externalRefs.length === 0 ? (
        <p>{t('common.none')}</p>
      ) : (
        <dl class="facts">
          {externalRefs.map((r) => (
            <Field key={`${r.team}-${r.ref}`} label={r.team}>
              {r.ref}
            </Field>
          ))}
        </dl>
      )}
    </>
  );
}

function NoteForm({ incidentRef, onAdded }: { incidentRef: string; onAdded: () => void }) {
  const [note, setNote] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = (e: Event) => {
    e.preventDefault();
    api()
      .POST('/api/v1/incidents/{ref}/journal', { params: { path: { ref: incidentRef } }, body: { note } })
      .then(
        () => {
          setNote('');
          setError(null);
          onAdded();
        },
        (err: unknown) => setError(problemText(err)),
      );
  };
  return (
    <form onSubmit={submit} class="inline">
      <label for="journal-note">{t('journal.note')}</label>
      <textarea id="journal-note" required rows={2} value={note} onInput={(e) => setNote(e.currentTarget.value)} />
      <button type="submit">{t('journal.add')}</button>
      <Problem text={error} />
    </form>
  );
}

function Journal({ entries }: { entries: Schemas['JournalEntry'][] }) {
  if (entries.length === 0) return <p>{t('common.none')}</p>;
  return (
    <ol class="journal" data-testid="journal">
      {entries.map((e) => (
        <li key={e.id}>
          <DateTime value={e.at} /> · <strong>{e.kind}</strong> · {e.actor}
          {e.team ? ` (${e.team})` : ''}
          {e.note ? <p class="note">{e.note}</p> : null}
          {e.changes ? <pre class="changes">{JSON.stringify(e.changes, null, 2)}</pre> : null}
        </li>
      ))}
    </ol>
  );
}
