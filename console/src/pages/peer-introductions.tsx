import { useState } from 'preact/hooks';
import { api, unwrap, type Schemas } from '../api';
import { ActionResult, DateTime, Loading, useAction, useLoad } from '../components';
import { t, type MessageKey } from '../i18n';

type Peer = Schemas['Peer'];

/**
 * A peer's introductions (GET /peers/{teamId}/vouches): the vouches held for its key (other
 * teams' signed introductions, forum rosters) and whether each counts, and the introductions of
 * it we sent. An admin introduces a peer whose key we verified out of band to other peers (POST
 * .../introductions, each one audited as a disclosure by the node) or withdraws them (DELETE).
 * Everything here came from other teams: shown as text only.
 */
export function PeerIntroductions({ peer, peers, admin }: { peer: Peer; peers: Peer[]; admin: boolean }) {
  const report = useLoad(
    () => unwrap(api().GET('/api/v1/peers/{teamId}/vouches', { params: { path: { teamId: peer.teamId } } })),
    [peer.teamId],
  );
  const headingId = `introductions-${peer.teamId}`;
  return (
    <section aria-labelledby={headingId} data-testid={`introductions-${peer.teamId}`}>
      <h3 id={headingId}>{t('intro.title', { team: peer.teamId })}</h3>
      <Loading state={report}>
        {(r) => (
          <>
            <p>
              {t('intro.counting', {
                needed: r.needed,
                introductions: r.counting.introductions.join(', ') || '—',
                rosters: r.counting.roster.join(', ') || '—',
              })}
            </p>
            {r.reason && <p class="muted">{r.reason}</p>}
            <Received items={r.items} />
            <Sent items={r.sent} />
            {admin && (
              <IntroduceForm
                peer={peer}
                recipients={peers.filter((p) => p.teamId !== peer.teamId && p.status === 'active')}
                canWithdraw={r.sent.some((s) => s.withdrawnAt === null)}
                onChanged={report.reload}
              />
            )}
          </>
        )}
      </Loading>
    </section>
  );
}

function Received({ items }: { items: Schemas['Vouch'][] }) {
  if (items.length === 0) return <p class="muted">{t('intro.noneReceived')}</p>;
  return (
    <div class="scroll">
      <table class="list">
        <caption>{t('intro.received')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('intro.voucher')}</th>
            <th scope="col">{t('intro.kind')}</th>
            <th scope="col">{t('peers.fingerprint')}</th>
            <th scope="col">{t('intro.vouchesFor')}</th>
            <th scope="col">{t('intro.standing')}</th>
            <th scope="col">{t('intro.statedAt')}</th>
          </tr>
        </thead>
        <tbody>
          {items.map((v) => (
            <tr key={`${v.kind}-${v.voucher}`} data-testid={`vouch-${v.voucher}`}>
              <td>{v.voucher}</td>
              <td>{t(`intro.kind.${v.kind}` as MessageKey)}</td>
              <td>
                <code>{v.fingerprint}</code>
              </td>
              <td>{v.vouchesFor ?? '—'}</td>
              <td>{t(`intro.standing.${v.standing}` as MessageKey)}</td>
              <td>
                <DateTime value={v.statedAt} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Sent({ items }: { items: Schemas['VouchReport']['sent'] }) {
  if (items.length === 0) return <p class="muted">{t('intro.noneSent')}</p>;
  return (
    <div class="scroll">
      <table class="list">
        <caption>{t('intro.sent')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('intro.to')}</th>
            <th scope="col">{t('intro.vouchesFor')}</th>
            <th scope="col">{t('intro.sentAt')}</th>
            <th scope="col">{t('intro.sentBy')}</th>
            <th scope="col">{t('intro.withdrawnAt')}</th>
          </tr>
        </thead>
        <tbody>
          {items.map((s) => (
            <tr key={`${s.to}-${s.messageId}`} data-testid={`sent-${s.to}`}>
              <td>{s.to}</td>
              <td>{s.vouchesFor ?? '—'}</td>
              <td>
                <DateTime value={s.sentAt} />
              </td>
              <td>{s.sentBy}</td>
              <td>{s.withdrawnAt ? <DateTime value={s.withdrawnAt} /> : t('intro.inForce')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function IntroduceForm(props: { peer: Peer; recipients: Peer[]; canWithdraw: boolean; onChanged: () => void }) {
  const { peer, recipients, canWithdraw, onChanged } = props;
  const [to, setTo] = useState<string[]>([]);
  const [everyVerified, setEveryVerified] = useState(false);
  const [vouchesFor, setVouchesFor] = useState('');
  const [withdrawing, setWithdrawing] = useState(false);
  const action = useAction();
  const path = { teamId: peer.teamId };
  const submit = (e: Event) => {
    e.preventDefault();
    if (!everyVerified && to.length === 0) return action.fail(t('intro.pickRecipients'));
    const body: Schemas['IntroductionSend'] = {
      to: everyVerified ? 'verified-peers' : to,
      ...(vouchesFor.trim() ? { vouchesFor: vouchesFor.trim() } : {}),
    };
    action.run(
      () => unwrap(api().POST('/api/v1/peers/{teamId}/introductions', { params: { path }, body })),
      t('intro.introduced', { team: peer.teamId }),
      () => {
        setTo([]);
        setVouchesFor('');
        onChanged();
      },
    );
  };
  const withdraw = () =>
    action.run(
      () => unwrap(api().DELETE('/api/v1/peers/{teamId}/introductions', { params: { path } })),
      t('intro.withdrawn', { team: peer.teamId }),
      () => {
        setWithdrawing(false);
        onChanged();
      },
    );
  const verified = peer.assurance === 'verified';
  return (
    <div>
      {verified ? (
        <form class="stacked" onSubmit={submit} data-testid={`introduce-${peer.teamId}`}>
          <fieldset>
            <legend>{t('intro.introduce', { team: peer.teamId })}</legend>
            <label class="radio">
              <input type="checkbox" checked={everyVerified} onChange={(e) => setEveryVerified(e.currentTarget.checked)} />{' '}
              {t('intro.everyVerified')}
            </label>
            {!everyVerified &&
              (recipients.length === 0 ? (
                <p class="muted">{t('intro.noRecipients')}</p>
              ) : (
                recipients.map((r) => (
                  <label class="radio" key={r.teamId}>
                    <input
                      type="checkbox"
                      checked={to.includes(r.teamId)}
                      onChange={(e) => setTo(e.currentTarget.checked ? [...to, r.teamId] : to.filter((x) => x !== r.teamId))}
                    />{' '}
                    {t('intro.tellTeam', { team: r.teamId })}
                  </label>
                ))
              ))}
            <label>
              {t('intro.vouchesForLabel')}
              <input maxLength={500} value={vouchesFor} onInput={(e) => setVouchesFor(e.currentTarget.value)} />
            </label>
            <p class="muted">{t('intro.disclosure')}</p>
            <button type="submit" disabled={action.busy}>
              {t('intro.send', { team: peer.teamId })}
            </button>
          </fieldset>
        </form>
      ) : (
        <p class="muted">{t('intro.verifyFirst')}</p>
      )}
      {canWithdraw &&
        (withdrawing ? (
          <p>
            <button type="button" class="primary" disabled={action.busy} onClick={withdraw}>
              {t('intro.confirmWithdraw', { team: peer.teamId })}
            </button>{' '}
            <button type="button" onClick={() => setWithdrawing(false)}>
              {t('account.cancel')}
            </button>
          </p>
        ) : (
          <button type="button" onClick={() => setWithdrawing(true)}>
            {t('intro.withdraw', { team: peer.teamId })}
          </button>
        ))}
      <ActionResult action={action} testId={`intro-done-${peer.teamId}`} />
    </div>
  );
}
