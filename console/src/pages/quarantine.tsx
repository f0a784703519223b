import { useState } from 'preact/hooks';
import { api, problemText, unwrap } from '../api';
import { DateTime, Loading, Problem, useLoad } from '../components';
import { t } from '../i18n';

/** Messages from senders that are not known peers: handlers see them; an admin accepts or rejects them (the node's rule). */
export function QuarantinePage({ admin }: { admin: boolean }) {
  const list = useLoad(() => unwrap(api().GET('/api/v1/quarantine', {})), []);
  const [error, setError] = useState<string | null>(null);
  const decide = (id: string, accept: boolean) => {
    const call = accept
      ? api().POST('/api/v1/quarantine/{id}/accept', { params: { path: { id } }, body: {} })
      : api().POST('/api/v1/quarantine/{id}/reject', { params: { path: { id } }, body: {} });
    call.then(list.reload, (e: unknown) => setError(problemText(e)));
  };
  return (
    <section>
      <h1>{t('quarantine.title')}</h1>
      <Problem text={error} />
      <Loading state={list}>
        {(page) =>
          page.items.length === 0 ? (
            <p>{t('quarantine.none')}</p>
          ) : (
            <table class="list">
              <caption class="visually-hidden">{t('quarantine.title')}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('quarantine.from')}</th>
                  <th scope="col">{t('quarantine.type')}</th>
                  <th scope="col">{t('quarantine.receivedAt')}</th>
                  <th scope="col">{t('quarantine.state')}</th>
                  {admin && <th scope="col">{t('quarantine.actions')}</th>}
                </tr>
              </thead>
              <tbody>
                {page.items.map((m) => (
                  <tr key={m.id}>
                    <td>{m.claimedFrom}</td>
                    <td>{m.type ?? '—'}</td>
                    <td>
                      <DateTime value={m.receivedAt} />
                    </td>
                    <td>{m.state}</td>
                    {admin && (
                      <td>
                        {m.state === 'quarantined' ? (
                          <>
                            <button type="button" onClick={() => decide(m.id, true)}>
                              {t('quarantine.accept')}
                            </button>{' '}
                            <button type="button" onClick={() => decide(m.id, false)}>
                              {t('quarantine.reject')}
                            </button>
                          </>
                        ) : null}
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loading>
    </section>
  );
}
