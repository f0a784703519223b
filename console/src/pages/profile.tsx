import { useState } from 'preact/hooks';
import { api, problemText, unwrap, type Schemas } from '../api';
import { Loading, Problem, useLoad } from '../components';
import { t } from '../i18n';

type Profile = Schemas['TeamProfile'];
type ProfileInput = Schemas['TeamProfileInput'];

/** The fields the node sets itself: not part of what a handler edits. */
const NODE_SET = ['teamId', 'fingerprint', 'publicKey', 'publicUrl', 'referencePrefix', 'updatedAt'] as const;

/**
 * The team profile (RFC 2350) as the node keeps it: the common fields in a form, the rest as the
 * profile schema's JSON; after saving, rfc2350.txt and security.txt as the node now publishes them.
 */
export function ProfilePage({ admin }: { admin: boolean }) {
  const profile = useLoad(() => unwrap(api().GET('/api/v1/profile', {})), []);
  const published = useLoad(
    () =>
      Promise.all([
        api()
          .GET('/rfc2350.txt', { parseAs: 'text' })
          .then((r) => r.data ?? ''),
        api()
          .GET('/.well-known/security.txt', { parseAs: 'text' })
          .then((r) => r.data ?? ''),
      ]),
    [profile.data?.updatedAt],
  );
  return (
    <section>
      <h1>{t('profile.title')}</h1>
      <Loading state={profile}>{(p) => <ProfileForm key={p.updatedAt} profile={p} admin={admin} onSaved={profile.reload} />}</Loading>
      <h2>{t('profile.published')}</h2>
      <Loading state={published}>
        {([rfc2350, securityTxt]) => (
          <div class="columns">
            <figure>
              <figcaption>rfc2350.txt</figcaption>
              <pre data-testid="rfc2350">{rfc2350}</pre>
            </figure>
            <figure>
              <figcaption>security.txt</figcaption>
              <pre data-testid="security-txt">{securityTxt}</pre>
            </figure>
          </div>
        )}
      </Loading>
    </section>
  );
}

function editable(profile: Profile): ProfileInput {
  const copy: Record<string, unknown> = { ...profile };
  for (const key of NODE_SET) delete copy[key];
  return copy as ProfileInput;
}

function ProfileForm({ profile, admin, onSaved }: { profile: Profile; admin: boolean; onSaved: () => void }) {
  const [text, setText] = useState(() => JSON.stringify(editable(profile), null, 2));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = (e: Event) => {
    e.preventDefault();
    let body: ProfileInput;
    try {
      body = JSON.parse(text) as ProfileInput;
    } catch {
      setError(t('profile.invalidJson'));
      return;
    }
    setBusy(true);
    setError(null);
    api()
      .PUT('/api/v1/profile', { body })
      .then(
        () => {
          setBusy(false);
          onSaved();
        },
        (err: unknown) => {
          setBusy(false);
          setError(problemText(err));
        },
      );
  };
  return (
    <form class="stacked" onSubmit={submit}>
      <p>
        {profile.name} ({profile.teamId}) · {t('peers.fingerprint')}: <code>{profile.fingerprint}</code>
      </p>
      <label for="profile-json">{t('profile.json')}</label>
      <textarea id="profile-json" rows={24} value={text} readOnly={!admin} onInput={(e) => setText(e.currentTarget.value)} />
      {admin ? (
        <button type="submit" disabled={busy}>
          {t('profile.save')}
        </button>
      ) : (
        <p class="muted">{t('profile.adminOnly')}</p>
      )}
      <Problem text={error} />
    </form>
  );
}
