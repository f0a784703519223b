import { useState } from 'preact/hooks';
import { api, problemText, unwrap, type Schemas } from '../api';
import { DateTime, Loading, Problem, useLoad } from '../components';
import { t } from '../i18n';

/** The hash-chained audit log, newest first, and `verify` over the whole chain. */
export function AuditPage() {
  const list = useLoad(() => unwrap(api().GET('/api/v1/audit', { params: { query: { order: 'desc', limit: 100 } } })), []);
  const [verified, setVerified] = useState<Schemas['AuditVerifyResult'] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const verify = () => unwrap(api().GET('/api/v1/audit/verify', {})).then(setVerified, (e: unknown) => setError(problemText(e)));
  return (
    <section>
      <h1>{t('audit.title')}</h1>
      <button type="button" onClick={verify}>
        {t('audit.verify')}
      </button>
      <Problem text={error} />
      {verified ? (
        <p role="status" data-testid="audit-verify" class={verified.ok ? 'allowed' : 'denied'}>
          {verified.ok
            ? t('audit.ok', { entries: verified.entries })
            : t('audit.broken', { at: verified.brokenAt, detail: verified.detail })}
        </p>
      ) : null}
      <Loading state={list}>
        {(page) => (
          <table class="list" data-testid="audit">
            <caption class="visually-hidden">{t('audit.title')}</caption>
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">{t('audit.at')}</th>
                <th scope="col">{t('audit.kind')}</th>
                <th scope="col">{t('audit.decision')}</th>
                <th scope="col">{t('audit.actor')}</th>
                <th scope="col">{t('audit.peer')}</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((e) => (
                <tr key={e.seq}>
                  <td>{e.seq}</td>
                  <td>
                    <DateTime value={e.at} />
                  </td>
                  <td>{e.kind}</td>
                  <td>{e.decision ?? '—'}</td>
                  <td>{e.actor}</td>
                  <td>{e.peer ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Loading>
    </section>
  );
}
