import { useState } from 'preact/hooks';
import { api, unwrap, type Schemas } from '../api';
import { ActionResult, DateTime, Loading, useAction, useLoad } from '../components';
import { t } from '../i18n';

type Forum = Schemas['Forum'];
type DraftMember = Schemas['ForumDraftMember'];
type Kind = DraftMember['kind'];
const KINDS: Kind[] = ['full', 'liaison'];

/**
 * A new forum (POST /forums): this node operates it, or joins one a peer operates. Admins only.
 */
export function ForumCreateForm({ onCreated }: { onCreated: () => void }) {
  const [id, setId] = useState('');
  const [name, setName] = useState('');
  const [role, setRole] = useState<Forum['role']>('operator');
  const [sponsors, setSponsors] = useState('0');
  const [operator, setOperator] = useState('');
  const action = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    const body: Schemas['ForumCreate'] =
      role === 'operator'
        ? { id: id.trim(), name: name.trim(), role, sponsorsNeeded: Number(sponsors) }
        : { id: id.trim(), role, operator: operator.trim() };
    action.run(
      () => unwrap(api().POST('/api/v1/forums', { body })),
      t('forums.created', { id: body.id }),
      () => {
        setId('');
        setName('');
        onCreated();
      },
    );
  };
  return (
    <form class="stacked account-form" onSubmit={submit} aria-labelledby="forum-new-heading" data-testid="forum-create">
      <h2 id="forum-new-heading">{t('forums.new')}</h2>
      <label>
        {t('forums.id')}
        <input required pattern="[a-z0-9][a-z0-9\-]{1,62}" value={id} onInput={(e) => setId(e.currentTarget.value)} />
      </label>
      <fieldset>
        <legend>{t('forums.ourRole')}</legend>
        <label class="radio">
          <input type="radio" name="forum-role" checked={role === 'operator'} onChange={() => setRole('operator')} />{' '}
          {t('forums.role.operator')}
        </label>
        <label class="radio">
          <input type="radio" name="forum-role" checked={role === 'member'} onChange={() => setRole('member')} /> {t('forums.role.member')}
        </label>
      </fieldset>
      {role === 'operator' ? (
        <>
          <label>
            {t('forums.name')}
            <input required maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </label>
          <label>
            {t('forums.sponsorsNeeded')}
            <input type="number" min={0} max={10} value={sponsors} onInput={(e) => setSponsors(e.currentTarget.value)} />
          </label>
        </>
      ) : (
        <label>
          {t('forums.operatorTeam')}
          <input required value={operator} onInput={(e) => setOperator(e.currentTarget.value)} />
        </label>
      )}
      <button type="submit" class="primary" disabled={action.busy}>
        {t('forums.createSubmit')}
      </button>
      <ActionResult action={action} testId="forum-created" />
    </form>
  );
}

/**
 * The operator's side of a forum (admins): the member list the next roster version will carry
 * (GET /forums/{id}/draft), admitting, suspending and removing members (PUT/DELETE
 * .../draft/{team}), the candidates' applications and sponsorships (GET .../applications), and
 * signing the next version (POST .../roster). Statements and contacts come from other teams:
 * shown as text only.
 */
export function ForumDrafting({ forum, onPublished }: { forum: Forum; onPublished: () => void }) {
  const path = { id: forum.id };
  const draft = useLoad(() => unwrap(api().GET('/api/v1/forums/{id}/draft', { params: { path } })), [forum.id]);
  const applications = useLoad(() => unwrap(api().GET('/api/v1/forums/{id}/applications', { params: { path } })), [forum.id]);
  const publish = useAction();
  const [published, setPublished] = useState<Schemas['ForumPublished'] | null>(null);
  const headingId = `draft-${forum.id}`;
  return (
    <section aria-labelledby={headingId} data-testid={`draft-${forum.id}`} class="panel">
      <h3 id={headingId}>{t('forums.draft', { id: forum.id })}</h3>
      <p class="muted">{t('forums.draftExplain')}</p>
      <Loading state={draft}>
        {(page) =>
          page.items.length === 0 ? (
            <p class="muted">{t('forums.draftEmpty')}</p>
          ) : (
            <div class="scroll">
              <table class="list">
                <caption>{t('forums.draftList')}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t('forums.team')}</th>
                    <th scope="col">{t('forums.kind')}</th>
                    <th scope="col">{t('forums.status')}</th>
                    <th scope="col">{t('forums.sponsors')}</th>
                    <th scope="col">{t('forums.admitted')}</th>
                    <th scope="col">{t('forums.changedBy')}</th>
                    <th scope="col">{t('accounts.actions')}</th>
                  </tr>
                </thead>
                <tbody>
                  {page.items.map((m) => (
                    <DraftRow key={m.team} forum={forum} member={m} onChanged={draft.reload} />
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Loading>
      <AdmitForm forum={forum} onAdmitted={draft.reload} />
      <p>
        <button
          type="button"
          class="primary"
          disabled={publish.busy}
          onClick={() =>
            publish.run(
              async () => setPublished(await unwrap(api().POST('/api/v1/forums/{id}/roster', { params: { path } }))),
              null,
              onPublished,
            )
          }
        >
          {t('forums.publish', { id: forum.id })}
        </button>
      </p>
      <ActionResult action={publish} />
      {published && (
        <p role="status" data-testid={`published-${forum.id}`}>
          {t('forums.published', { version: published.version, teams: published.sentTo.join(', ') || '—' })}
        </p>
      )}
      <h4>{t('forums.applications')}</h4>
      <Loading state={applications}>
        {(page) =>
          page.items.length === 0 ? (
            <p class="muted">{t('forums.noApplications')}</p>
          ) : (
            <>
              {page.items.map((a) => (
                <Application key={a.team} application={a} />
              ))}
            </>
          )
        }
      </Loading>
    </section>
  );
}

function DraftRow({ forum, member, onChanged }: { forum: Forum; member: DraftMember; onChanged: () => void }) {
  const action = useAction();
  const path = { id: forum.id, teamId: member.team };
  const suspended = member.status === 'suspended';
  const setStatus = () =>
    action.run(
      () =>
        unwrap(
          api().PUT('/api/v1/forums/{id}/draft/{teamId}', {
            params: { path },
            body: { kind: member.kind, status: suspended ? 'active' : 'suspended', sponsors: member.sponsors },
          }),
        ),
      null,
      onChanged,
    );
  const remove = () => action.run(() => unwrap(api().DELETE('/api/v1/forums/{id}/draft/{teamId}', { params: { path } })), null, onChanged);
  return (
    <tr data-testid={`draft-member-${member.team}`}>
      <td>{member.team}</td>
      <td>{t(`forums.membership.${member.kind}`)}</td>
      <td>{t(`forums.memberStatus.${member.status}`)}</td>
      <td>{member.sponsors.join(', ') || '—'}</td>
      <td>
        <DateTime value={member.admitted} />
      </td>
      <td>
        {member.updatedBy} <DateTime value={member.updatedAt} />
      </td>
      <td>
        <button type="button" disabled={action.busy} onClick={setStatus}>
          {t(suspended ? 'forums.reinstate' : 'forums.suspend', { team: member.team })}
        </button>{' '}
        <button type="button" disabled={action.busy} onClick={remove}>
          {t('forums.removeMember', { team: member.team })}
        </button>
        <ActionResult action={action} />
      </td>
    </tr>
  );
}

function AdmitForm({ forum, onAdmitted }: { forum: Forum; onAdmitted: () => void }) {
  const [team, setTeam] = useState('');
  const [kind, setKind] = useState<Kind>('full');
  const [sponsors, setSponsors] = useState('');
  const action = useAction();
  const id = `admit-${forum.id}`;
  const submit = (e: Event) => {
    e.preventDefault();
    const list = sponsors.split(/[\s,]+/).filter(Boolean);
    action.run(
      () =>
        unwrap(
          api().PUT('/api/v1/forums/{id}/draft/{teamId}', {
            params: { path: { id: forum.id, teamId: team.trim() } },
            body: { kind, ...(list.length ? { sponsors: list } : {}) },
          }),
        ),
      t('forums.admitted.done', { team: team.trim() }),
      () => {
        setTeam('');
        setSponsors('');
        onAdmitted();
      },
    );
  };
  return (
    <form class="inline" onSubmit={submit} data-testid={`admit-${forum.id}`}>
      <label for={`${id}-team`}>{t('forums.admitTeam')}</label>
      <input id={`${id}-team`} required value={team} onInput={(e) => setTeam(e.currentTarget.value)} />
      <label for={`${id}-kind`}>{t('forums.kind')}</label>
      <select id={`${id}-kind`} value={kind} onChange={(e) => setKind(e.currentTarget.value as Kind)}>
        {KINDS.map((k) => (
          <option key={k} value={k}>
            {t(`forums.membership.${k}`)}
          </option>
        ))}
      </select>
      <label for={`${id}-sponsors`}>{t('forums.sponsorsField')}</label>
      <input id={`${id}-sponsors`} value={sponsors} onInput={(e) => setSponsors(e.currentTarget.value)} />
      <button type="submit" disabled={action.busy}>
        {t('forums.admit')}
      </button>
      <ActionResult action={action} />
    </form>
  );
}

function Application({ application: a }: { application: Schemas['ForumApplicationView'] }) {
  return (
    <article class="panel" data-testid={`application-${a.team}`}>
      <h5>{a.team}</h5>
      <dl class="facts">
        <dt>{t('forums.statement')}</dt>
        <dd class="text-block">{a.statement ?? t('forums.noStatement')}</dd>
        <dt>{t('forums.appliedAt')}</dt>
        <dd>
          <DateTime value={a.appliedAt} />
        </dd>
        <dt>{t('forums.contact')}</dt>
        <dd>{a.contact ? [a.contact.name, a.contact.organisation, a.contact.email, a.contact.phone].filter(Boolean).join(' · ') : '—'}</dd>
        <dt>{t('peers.fingerprint')}</dt>
        <dd>
          {a.pinnedFingerprint ? <code>{a.pinnedFingerprint}</code> : t('forums.notPeer')} ·{' '}
          {a.verified ? t('forums.assurance.verified') : t('forums.assurance.unverified')}
        </dd>
        <dt>{t('forums.sponsorships')}</dt>
        <dd>
          {a.sponsorships.length === 0 ? (
            '—'
          ) : (
            <ul class="plain">
              {a.sponsorships.map((s) => (
                <li key={s.sponsor}>
                  {s.sponsor}:{' '}
                  {s.withdrawn
                    ? t('forums.sponsorship.withdrawn')
                    : s.counts
                      ? t('forums.sponsorship.counts')
                      : t('forums.sponsorship.not')}{' '}
                  <DateTime value={s.receivedAt} />
                </li>
              ))}
            </ul>
          )}
        </dd>
      </dl>
    </article>
  );
}
