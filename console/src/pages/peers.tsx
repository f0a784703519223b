import { useState } from 'preact/hooks';
import { api, problemText, unwrap, type Schemas } from '../api';
import { DateTime, Field, Loading, Problem, useLoad } from '../components';
import { t } from '../i18n';
import { PeerAddForms, PeerAdmin } from './peer-admin';
import { PeerIntroductions } from './peer-introductions';

/**
 * Peers: each one's pinned key fingerprint, confirmed out of band (read aloud on the phone,
 * compared on paper) before the node trusts it above TLP:CLEAR, and its effective trust explained.
 */
export function PeersPage({ admin }: { admin: boolean }) {
  const list = useLoad(() => unwrap(api().GET('/api/v1/peers', {})), []);
  return (
    <section>
      <h1>{t('peers.title')}</h1>
      {admin && <PeerAddForms onAdded={list.reload} />}
      <Loading state={list}>
        {(page) =>
          page.items.length === 0 ? (
            <p>{t('peers.none')}</p>
          ) : (
            <>
              {page.items.map((p) => (
                <PeerCard key={p.teamId} peer={p} peers={page.items} admin={admin} onChanged={list.reload} />
              ))}
            </>
          )
        }
      </Loading>
    </section>
  );
}

/** The fingerprint in groups of four, as people read it to each other. */
function grouped(fingerprint: string): string {
  return fingerprint.replace(/(.{4})/g, '$1 ').trim();
}

function PeerCard(props: { peer: Schemas['Peer']; peers: Schemas['Peer'][]; admin: boolean; onChanged: () => void }) {
  const { peer, peers, admin, onChanged } = props;
  const [introductions, setIntroductions] = useState(false);
  const [trust, setTrust] = useState<Schemas['PeerTrust'] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const explain = () =>
    unwrap(api().GET('/api/v1/policy/trust/{teamId}', { params: { path: { teamId: peer.teamId } } })).then(setTrust, (e: unknown) =>
      setError(problemText(e)),
    );
  return (
    <article class="panel" aria-labelledby={`peer-${peer.teamId}`} data-testid={`peer-${peer.teamId}`}>
      <h2 id={`peer-${peer.teamId}`}>
        {peer.name} ({peer.teamId})
      </h2>
      <dl class="facts">
        <Field label={t('peers.fingerprint')}>
          <code class="fingerprint">{grouped(peer.fingerprint)}</code>
        </Field>
        <Field label={t('peers.assurance')}>{t(`assurance.${peer.assurance}`)}</Field>
        <Field label={t('peers.status')}>
          <span data-testid={`peer-status-${peer.teamId}`}>{t(`peerStatus.${peer.status}`)}</span>
        </Field>
        <Field label={t('peers.relationship')}>{t(`relationship.${peer.relationship}`)}</Field>
        <Field label={t('peers.trustLevel')}>{t(`trust.${peer.trustLevel}`)}</Field>
        <Field label={t('peers.url')}>{peer.url}</Field>
        <Field label={t('peers.addedAt')}>
          <DateTime value={peer.addedAt} />
        </Field>
      </dl>
      {admin && peer.assurance !== 'verified' ? <VerifyForm teamId={peer.teamId} onVerified={onChanged} /> : null}
      {admin && <PeerAdmin peer={peer} onChanged={onChanged} />}
      <button type="button" onClick={explain}>
        {t('peers.explainTrust')}
      </button>{' '}
      <button type="button" aria-expanded={introductions} onClick={() => setIntroductions(!introductions)}>
        {t('intro.show')}
      </button>
      <Problem text={error} />
      {trust ? (
        <div data-testid="effective-trust">
          <p>{t('peers.level', { level: trust.level, exchange: t(trust.exchange ? 'common.yes' : 'common.no') })}</p>
          <ol>
            {trust.reasons.map((r, n) => (
              <li key={n}>{r}</li>
            ))}
          </ol>
        </div>
      ) : null}
      {introductions && <PeerIntroductions peer={peer} peers={peers} admin={admin} />}
    </article>
  );
}

function VerifyForm({ teamId, onVerified }: { teamId: string; onVerified: () => void }) {
  const [fingerprint, setFingerprint] = useState('');
  const [error, setError] = useState<string | null>(null);
  const id = `verify-${teamId}`;
  const submit = (e: Event) => {
    e.preventDefault();
    api()
      .POST('/api/v1/peers/{teamId}/verify', { params: { path: { teamId } }, body: { fingerprint } })
      .then(onVerified, (err: unknown) => setError(problemText(err)));
  };
  return (
    <form class="inline" onSubmit={submit}>
      <label for={id}>{t('peers.verifyLabel')}</label>
      <input id={id} required value={fingerprint} onInput={(e) => setFingerprint(e.currentTarget.value)} />
      <button type="submit">{t('peers.verify')}</button>
      <Problem text={error} />
    </form>
  );
}
