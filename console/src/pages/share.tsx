import { useState } from 'preact/hooks';
import { api, problemText, unwrap, type Schemas } from '../api';
import { Field, Loading, Problem, Tlp, useLoad } from '../components';
import { t } from '../i18n';
import { incidentHref, navigate } from '../router';

type Explain = Schemas['ExplainResponse'];

/**
 * "Share with...": the handler picks a peer, reads the policy's decision and exactly what the
 * peer would get (POST /api/v1/policy/explain, the same decision and redaction a share makes)
 * and only then sends. Sending is offered only for the peer just previewed, and only when allowed.
 */
export function SharePage({ incidentRef, canWrite }: { incidentRef: string; canWrite: boolean }) {
  const peers = useLoad(() => unwrap(api().GET('/api/v1/peers', {})), []);
  const [peer, setPeer] = useState('');
  const [preview, setPreview] = useState<Explain | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const explain = (e: Event) => {
    e.preventDefault();
    setError(null);
    setPreview(null);
    setBusy(true);
    unwrap(api().POST('/api/v1/policy/explain', { body: { incident: incidentRef, peer, purpose: 'direct', explicitlyChosen: true } })).then(
      (answer) => {
        setBusy(false);
        setPreview(answer);
      },
      (err: unknown) => {
        setBusy(false);
        setError(problemText(err));
      },
    );
  };
  const send = () => {
    setBusy(true);
    unwrap(api().POST('/api/v1/incidents/{ref}/shares', { params: { path: { ref: incidentRef } }, body: { peer } })).then(
      () => navigate(incidentHref(incidentRef)),
      (err: unknown) => {
        setBusy(false);
        setError(problemText(err));
      },
    );
  };

  return (
    <section>
      <h1>{t('share.title', { ref: incidentRef })}</h1>
      <p>
        <a href={incidentHref(incidentRef)}>{t('share.back')}</a>
      </p>
      <Loading state={peers}>
        {(list) => (
          <form class="inline" onSubmit={explain}>
            <label for="share-peer">{t('share.peer')}</label>
            <select
              id="share-peer"
              required
              value={peer}
              onChange={(e) => {
                setPeer(e.currentTarget.value);
                setPreview(null);
              }}
            >
              <option value="">{t('share.choose')}</option>
              {list.items.map((p) => (
                <option key={p.teamId} value={p.teamId}>
                  {p.name} ({p.teamId})
                </option>
              ))}
            </select>
            <button type="submit" disabled={busy || !peer}>
              {t('share.preview')}
            </button>
          </form>
        )}
      </Loading>
      <Problem text={error} />
      {preview ? <Decision preview={preview} /> : null}
      {preview && !canWrite ? <p class="muted">{t('share.readerOnly')}</p> : null}
      {preview && canWrite ? (
        <p>
          <button type="button" class="primary" disabled={busy || !preview.allow} onClick={send} data-testid="share-send">
            {t('share.send', { peer: preview.recipient.name ?? preview.recipient.id })}
          </button>
        </p>
      ) : null}
    </section>
  );
}

function Decision({ preview }: { preview: Explain }) {
  return (
    <section aria-labelledby="decision-title" data-testid="policy-decision">
      <h2 id="decision-title">{t('share.decision')}</h2>
      <p class={preview.allow ? 'allowed' : 'denied'} data-testid="policy-allow">
        {preview.allow ? t('share.allowed', { detail: t(`share.detail.${preview.detail}`) }) : t('share.denied')}
      </p>
      <dl class="facts">
        <Field label={t('share.recipient')}>
          {preview.recipient.name ?? preview.recipient.id} ({preview.recipient.relationship ?? '—'}, {preview.recipient.status ?? '—'})
        </Field>
        <Field label="TLP">
          <Tlp tlp={preview.tlp} />
        </Field>
        <Field label={t('share.mayRedistribute')}>{t(preview.mayRedistribute ? 'common.yes' : 'common.no')}</Field>
        <Field label={t('share.policyVersion')}>{preview.policyVersion}</Field>
        <Field label={t('share.deniedBy')}>{preview.deniedBy.join(', ')}</Field>
      </dl>
      <h3>{t('share.reasons')}</h3>
      <ol data-testid="policy-reasons">
        {preview.reasons.map((r, n) => (
          <li key={n}>{r}</li>
        ))}
      </ol>
      <h3>{t('share.redactions')}</h3>
      {preview.redactions.length === 0 ? (
        <p data-testid="redactions-none">{t('share.noRedactions')}</p>
      ) : (
        <ul data-testid="redactions">
          {preview.redactions.map((r) => (
            <li key={r.section}>
              <strong>{t(`section.${r.section}`)}</strong>: {r.reason} ({t('share.requiredLevel')}: {r.requiredLevel})
            </li>
          ))}
        </ul>
      )}
      {preview.scrubbed.length ? (
        <>
          <h3>{t('share.scrubbed')}</h3>
          <pre class="changes">{JSON.stringify(preview.scrubbed, null, 2)}</pre>
        </>
      ) : null}
      {preview.preview ? (
        <details>
          <summary>{t('share.whatTheyGet')}</summary>
          <pre class="changes" data-testid="policy-preview">
            {JSON.stringify(preview.preview, null, 2)}
          </pre>
        </details>
      ) : null}
    </section>
  );
}
