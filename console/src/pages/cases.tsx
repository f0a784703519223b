import { useState } from 'preact/hooks';
import { api, unwrap } from '../api';
import { DateTime, Loading, Tlp, useLoad } from '../components';
import { t } from '../i18n';
import { caseHref, navigate } from '../router';
import { CaseFields } from './case-form';
import { VendorCreateForm, VendorEditForm } from './vendor-forms';
import { VendorQuestions } from './vendor-questions';

/**
 * Vendor coordination (GET /cases, /vendors, /vendor-questions): our vulnerability cases, the
 * vendors we coordinate with, and the questions other teams asked us as a vendor (answered there).
 * A handler opens a case and adds, changes or removes vendors here. A case opens on its own page
 * (questions, statements, advisory, editing). Titles and names are text, never markup.
 */
export function CasesPage({ canWrite }: { canWrite: boolean }) {
  const cases = useLoad(() => unwrap(api().GET('/api/v1/cases', {})), []);
  const vendors = useLoad(() => unwrap(api().GET('/api/v1/vendors', {})), []);
  const [editing, setEditing] = useState<string | null>(null);
  return (
    <section>
      <h1>{t('cases.title')}</h1>
      <Loading state={cases}>
        {(page) =>
          page.items.length === 0 ? (
            <p>{t('cases.none')}</p>
          ) : (
            <div class="scroll">
              <table class="list" data-testid="cases">
                <caption>{t('cases.list')}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t('cases.id')}</th>
                    <th scope="col">{t('incident.title')}</th>
                    <th scope="col">{t('incident.tlp')}</th>
                    <th scope="col">{t('cases.cves')}</th>
                    <th scope="col">{t('cases.embargo')}</th>
                    <th scope="col">{t('cases.parties')}</th>
                    <th scope="col">{t('incident.updatedAt')}</th>
                  </tr>
                </thead>
                <tbody>
                  {page.items.map((c) => (
                    <tr key={c.id}>
                      <td>
                        <a href={caseHref(c.id)}>{c.id}</a>
                      </td>
                      <td>{c.title}</td>
                      <td>
                        <Tlp tlp={c.tlp} />
                      </td>
                      <td>{c.cveIds.join(', ') || '—'}</td>
                      <td>
                        <DateTime value={c.embargoUntil} />
                      </td>
                      <td>{c.parties.join(', ') || '—'}</td>
                      <td>
                        <DateTime value={c.updatedAt} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Loading>
      {canWrite && (
        <details data-testid="case-open">
          <summary>{t('caseForm.open')}</summary>
          <CaseFields vendorIds={(vendors.data?.items ?? []).map((v) => v.id)} onSaved={(id) => navigate(caseHref(id))} />
        </details>
      )}
      <h2>{t('cases.vendors')}</h2>
      <Loading state={vendors}>
        {(page) =>
          page.items.length === 0 ? (
            <p class="muted">{t('common.none')}</p>
          ) : (
            <div class="scroll">
              <table class="list" data-testid="vendors">
                <caption class="visually-hidden">{t('cases.vendors')}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t('cases.vendorId')}</th>
                    <th scope="col">{t('cases.vendorName')}</th>
                    <th scope="col">{t('notifications.channel')}</th>
                    <th scope="col">{t('cases.vendorAddress')}</th>
                    <th scope="col">{t('peers.fingerprint')}</th>
                    {canWrite && <th scope="col">{t('notifications.actions')}</th>}
                  </tr>
                </thead>
                <tbody>
                  {page.items.map((v) => (
                    <tr key={v.id} data-testid={`vendor-${v.id}`}>
                      <td>{v.id}</td>
                      <td>{v.name}</td>
                      <td>{t(`cases.channel.${v.channel}`)}</td>
                      <td>{v.teamId ?? v.email ?? '—'}</td>
                      <td>{v.fingerprint ? <code>{v.fingerprint}</code> : '—'}</td>
                      {canWrite && (
                        <td>
                          <button type="button" aria-expanded={editing === v.id} onClick={() => setEditing(editing === v.id ? null : v.id)}>
                            {t('vendors.edit', { id: v.id })}
                          </button>
                          {editing === v.id && <VendorEditForm vendor={v} onChanged={vendors.reload} />}
                        </td>
                      )}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Loading>
      {canWrite && <VendorCreateForm onCreated={vendors.reload} />}
      <VendorQuestions canWrite={canWrite} />
    </section>
  );
}
