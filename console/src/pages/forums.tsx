import { useState } from 'preact/hooks';
import { api, problemText, unwrap, type Schemas } from '../api';
import { DateTime, Loading, Problem, useLoad } from '../components';
import { t } from '../i18n';
import { ForumCreateForm, ForumDrafting } from './forum-drafting';

type Forum = Schemas['Forum'];

/**
 * Forums (trust groups) this node operates or belongs to, and each one's newest signed roster:
 * its members with the key the roster states and what this node pins for each. An admin adds a
 * member as a peer, pinning exactly the roster's key (POST .../members/{team}/peer).
 */
export function ForumsPage({ admin }: { admin: boolean }) {
  const forums = useLoad(() => unwrap(api().GET('/api/v1/forums', {})), []);
  return (
    <section>
      <h1>{t('forums.title')}</h1>
      <Loading state={forums}>
        {(page) =>
          page.items.length === 0 ? (
            <p class="muted">{t('common.none')}</p>
          ) : (
            <>
              {page.items.map((f) => (
                <ForumSection key={f.id} forum={f} admin={admin} onChanged={forums.reload} />
              ))}
            </>
          )
        }
      </Loading>
      {admin && <ForumCreateForm onCreated={forums.reload} />}
    </section>
  );
}

function ForumSection({ forum, admin, onChanged }: { forum: Forum; admin: boolean; onChanged: () => void }) {
  const path = { id: forum.id };
  const members = useLoad(() => unwrap(api().GET('/api/v1/forums/{id}/members', { params: { path } })), [forum.id, forum.rosterVersion]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const addPeer = (team: string) => {
    setBusy(true);
    setError(null);
    unwrap(api().POST('/api/v1/forums/{id}/members/{teamId}/peer', { params: { path: { id: forum.id, teamId: team } } })).then(
      () => {
        setBusy(false);
        members.reload();
      },
      (e: unknown) => {
        setBusy(false);
        setError(problemText(e));
      },
    );
  };
  const headingId = `forum-${forum.id}`;
  return (
    <section aria-labelledby={headingId} data-testid={`forum-${forum.id}`}>
      <h2 id={headingId}>
        {forum.name} ({forum.id})
      </h2>
      <p>
        {t('forums.operator')}: {forum.operator} · {t(`forums.role.${forum.role}`)} ·{' '}
        {t('forums.version', { version: forum.rosterVersion })} · {t(`forums.membership.${forum.ourMembership}`)} ·{' '}
        <DateTime value={forum.updatedAt} />
      </p>
      <Problem text={error} />
      <Loading state={members}>
        {(page) =>
          page.items.length === 0 ? (
            <p class="muted">{t('forums.noRoster')}</p>
          ) : (
            <div class="scroll">
              <table class="list">
                <caption>{t('forums.roster')}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t('forums.team')}</th>
                    <th scope="col">{t('forums.kind')}</th>
                    <th scope="col">{t('forums.status')}</th>
                    <th scope="col">{t('peers.fingerprint')}</th>
                    <th scope="col">{t('forums.sponsors')}</th>
                    <th scope="col">{t('forums.peer')}</th>
                    <th scope="col">{t('forums.assurance')}</th>
                  </tr>
                </thead>
                <tbody>
                  {page.items.map((m) => (
                    <tr key={m.team} data-testid={`member-${m.team}`}>
                      <td>{m.team}</td>
                      <td>{m.kind}</td>
                      <td>{m.status}</td>
                      <td>
                        <code>{m.fingerprint}</code>
                      </td>
                      <td>{m.sponsors.join(', ') || '—'}</td>
                      <td>
                        {t(`forums.peer.${m.peer}`)}
                        {admin && m.peer === 'none' && (
                          <>
                            {' '}
                            <button type="button" disabled={busy} onClick={() => addPeer(m.team)}>
                              {t('forums.addPeer', { team: m.team })}
                            </button>
                          </>
                        )}
                      </td>
                      <td>{m.assurance ? t(`forums.assurance.${m.assurance}`) : '—'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Loading>
      {admin && forum.role === 'operator' && <ForumDrafting forum={forum} onPublished={onChanged} />}
    </section>
  );
}
