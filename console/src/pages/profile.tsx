import { useState } from 'preact/hooks';
import { api, problemText, unwrap, type Schemas } from '../api';
import { Loading, Problem, useLoad } from '../components';
import { TEAM_TYPES } from '../enums';
import { t, type MessageKey } from '../i18n';

type Profile = Schemas['TeamProfile'];
type ProfileInput = Schemas['TeamProfileInput'];
type Preview = Schemas['ProfilePreview'];

/**
 * One form field of the profile, by its path in TeamProfileInput. `lines` is a list typed one
 * item per line; `asns` the same, as numbers. Optional fields left empty are left out of the body
 * (the schema refuses empty strings), so the preview and the saved profile agree on what is absent.
 */
type Kind = 'text' | 'area' | 'lines' | 'asns' | 'type' | 'flag';
interface FieldSpec {
  path: string;
  kind: Kind;
  required?: boolean;
}
const f = (path: string, kind: Kind = 'text', required = false): FieldSpec => ({ path, kind, required });

/** RFC 2350's order: the team, its constituency and position, contacts, policies, services, the rest. */
const GROUPS: Array<{ legend: MessageKey; fields: FieldSpec[] }> = [
  {
    legend: 'profile.group.team',
    fields: [
      f('name', 'text', true),
      f('shortName', 'text', true),
      f('type', 'type', true),
      f('country', 'text', true),
      f('timeZone', 'text', true),
      f('languages', 'lines', true),
      f('mission', 'area', true),
    ],
  },
  {
    legend: 'profile.group.constituency',
    fields: [
      f('constituency.description', 'area', true),
      f('constituency.networks', 'lines'),
      f('constituency.asns', 'asns'),
      f('constituency.domains', 'lines'),
      f('constituency.products', 'lines'),
      f('sponsorship', 'area'),
      f('affiliation', 'area'),
      f('authority', 'area'),
    ],
  },
  {
    legend: 'profile.group.contacts',
    fields: [
      f('contacts.email', 'text', true),
      f('contacts.phone'),
      f('contacts.hotline24x7'),
      f('contacts.fax'),
      f('contacts.mobile'),
      f('contacts.postalAddress', 'area'),
      f('contacts.businessHours.description'),
      f('contacts.businessHours.timeZone'),
      f('contacts.otherChannels', 'lines'),
      f('members', 'lines'),
    ],
  },
  {
    legend: 'profile.group.policies',
    fields: ['incidentTypes', 'supportLevel', 'cooperation', 'disclosure', 'lawEnforcement', 'press', 'communication'].map((p) =>
      f(`policies.${p}`, 'area'),
    ),
  },
  {
    legend: 'profile.group.services',
    fields: [
      f('services.incidentResponse', 'area'),
      f('services.triage', 'area'),
      f('services.coordination', 'area'),
      f('services.resolution', 'area'),
      f('services.proactive', 'lines'),
      f('reportingForms', 'area'),
      f('disclaimers', 'area'),
    ],
  },
  {
    legend: 'profile.group.publication',
    fields: [f('securityTxt.expires'), f('securityTxt.policyUrl'), f('federation.requiresSealed', 'flag')],
  },
];
const FIELDS = GROUPS.flatMap((g) => g.fields);

type Values = Record<string, string>;

function read(object: unknown, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>((o, key) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[key] : undefined), object);
}

function write(object: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let o = object;
  for (const key of keys.slice(0, -1)) o = (o[key] ??= {}) as Record<string, unknown>;
  o[keys.at(-1)!] = value;
}

/** The stored profile as form values: lists one item per line. */
export function toValues(profile: Profile): Values {
  const values: Values = {};
  for (const { path, kind } of FIELDS) {
    const v = read(profile, path);
    if (kind === 'flag') values[path] = v === true ? 'true' : '';
    else if (Array.isArray(v)) values[path] = v.join('\n');
    else values[path] = v === undefined || v === null ? '' : String(v);
  }
  return values;
}

/** Form values as the body PUT /profile and POST /profile/preview take. */
export function toInput(values: Values): ProfileInput {
  // The three objects the schema requires are there even when every field in them is empty.
  const body: Record<string, unknown> = { constituency: { networks: [], asns: [], domains: [], products: [] }, contacts: {}, policies: {} };
  for (const { path, kind, required } of FIELDS) {
    const raw = values[path] ?? '';
    if (kind === 'flag') {
      if (raw === 'true') write(body, path, true);
      continue;
    }
    if (kind === 'lines' || kind === 'asns') {
      const items = raw
        .split('\n')
        .map((line) => line.trim())
        .filter(Boolean);
      // A number the node cannot read stays a string: the node's 400 names the row.
      if (items.length > 0 || required || path.startsWith('constituency.'))
        write(body, path, kind === 'asns' ? items.map((a) => (/^\d+$/.test(a) ? Number(a) : a)) : items);
      continue;
    }
    const text = kind === 'area' ? raw.replace(/\s+$/, '') : raw.trim();
    if (text || required) write(body, path, text);
  }
  return body as unknown as ProfileInput;
}

/**
 * The team profile (RFC 2350) as a form. Saving is offered only for a draft that was previewed
 * as it stands: the admin reads rfc2350.txt and security.txt as they would be published (POST
 * /profile/preview, nothing saved) before PUT /profile changes them.
 */
export function ProfilePage({ admin }: { admin: boolean }) {
  const profile = useLoad(() => unwrap(api().GET('/api/v1/profile', {})), []);
  // Held here, not in the form: the form is drawn anew from the saved profile (its key), which
  // would drop the confirmation as soon as the reload lands.
  const [saved, setSaved] = useState(false);
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
      <Loading state={profile}>
        {(p) => <ProfileForm key={p.updatedAt} profile={p} admin={admin} saved={saved} onSaved={setSaved} reload={profile.reload} />}
      </Loading>
      <h2>{t('profile.published')}</h2>
      <Loading state={published}>
        {([rfc2350, securityTxt]) => <Documents rfc2350={rfc2350} securityTxt={securityTxt} testid="published" />}
      </Loading>
    </section>
  );
}

function Documents({ rfc2350, securityTxt, testid }: { rfc2350: string; securityTxt: string; testid: string }) {
  return (
    <div class="columns">
      <figure>
        <figcaption>rfc2350.txt</figcaption>
        <pre data-testid={`${testid}-rfc2350`} tabIndex={0}>
          {rfc2350}
        </pre>
      </figure>
      <figure>
        <figcaption>security.txt</figcaption>
        <pre data-testid={`${testid}-security-txt`} tabIndex={0}>
          {securityTxt}
        </pre>
      </figure>
    </div>
  );
}

function ProfileForm(props: { profile: Profile; admin: boolean; saved: boolean; onSaved: (saved: boolean) => void; reload: () => void }) {
  const { profile, admin, saved, onSaved: setSaved, reload } = props;
  const [values, setValues] = useState<Values>(() => toValues(profile));
  const [preview, setPreview] = useState<{ of: string; documents: Preview } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const draft = JSON.stringify(values);
  const previewed = preview !== null && preview.of === draft;

  const call = (work: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    work().then(
      () => setBusy(false),
      (e: unknown) => {
        setBusy(false);
        setError(problemText(e));
      },
    );
  };
  const showPreview = (e: Event) => {
    e.preventDefault();
    call(async () => {
      setSaved(false);
      setPreview({ of: draft, documents: await unwrap(api().POST('/api/v1/profile/preview', { body: toInput(values) })) });
    });
  };
  const save = () =>
    call(async () => {
      await unwrap(api().PUT('/api/v1/profile', { body: toInput(values) }));
      setSaved(true);
      reload();
    });

  return (
    <form class="stacked" onSubmit={showPreview} data-testid="profile-form">
      <p>
        {profile.name} ({profile.teamId}) · {t('peers.fingerprint')}: <code>{profile.fingerprint}</code>
      </p>
      {!admin && <p class="muted">{t('profile.adminOnly')}</p>}
      {GROUPS.map((group) => (
        <fieldset key={group.legend}>
          <legend>{t(group.legend)}</legend>
          {group.fields.map((spec) => (
            <ProfileField
              key={spec.path}
              spec={spec}
              value={values[spec.path] ?? ''}
              readOnly={!admin}
              onChange={(v) => setValues({ ...values, [spec.path]: v })}
            />
          ))}
        </fieldset>
      ))}
      {admin && (
        <div class="actions">
          <button type="submit" disabled={busy}>
            {t('profile.preview')}
          </button>
          <button type="button" data-testid="profile-save" disabled={busy || !previewed} onClick={save}>
            {t('profile.save')}
          </button>
          {!previewed && <span class="muted">{t('profile.previewFirst')}</span>}
        </div>
      )}
      <Problem text={error} />
      {saved && <p role="status">{t('profile.saved')}</p>}
      {preview && previewed && (
        <section aria-labelledby="preview-heading">
          <h2 id="preview-heading">{t('profile.previewTitle')}</h2>
          <Documents rfc2350={preview.documents.rfc2350} securityTxt={preview.documents.securityTxt} testid="preview" />
        </section>
      )}
    </form>
  );
}

function ProfileField({
  spec,
  value,
  readOnly,
  onChange,
}: {
  spec: FieldSpec;
  value: string;
  readOnly: boolean;
  onChange: (v: string) => void;
}) {
  const id = `profile-${spec.path.replace(/\./g, '-')}`;
  const label = t(`profile.field.${spec.path}` as MessageKey);
  const hint = spec.kind === 'lines' || spec.kind === 'asns' ? t('profile.onePerLine') : null;
  const input = (e: Event) => onChange((e.currentTarget as HTMLInputElement).value);
  let control;
  if (spec.kind === 'type')
    control = (
      <select id={id} name={spec.path} value={value} disabled={readOnly} onChange={input}>
        {TEAM_TYPES.map((type) => (
          <option key={type} value={type}>
            {t(`teamType.${type}`)}
          </option>
        ))}
      </select>
    );
  else if (spec.kind === 'flag')
    control = (
      <input
        id={id}
        name={spec.path}
        type="checkbox"
        checked={value === 'true'}
        disabled={readOnly}
        onChange={(e) => onChange(e.currentTarget.checked ? 'true' : '')}
      />
    );
  else if (spec.kind === 'text')
    control = <input id={id} name={spec.path} value={value} readOnly={readOnly} required={spec.required} onInput={input} />;
  else
    control = (
      <textarea
        id={id}
        name={spec.path}
        rows={spec.kind === 'area' ? 3 : 4}
        value={value}
        readOnly={readOnly}
        required={spec.required}
        aria-describedby={hint ? `${id}-hint` : undefined}
        onInput={input}
      />
    );
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {control}
      {hint && (
        <span id={`${id}-hint`} class="muted">
          {hint}
        </span>
      )}
    </div>
  );
}
