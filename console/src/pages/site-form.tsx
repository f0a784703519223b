import { useState } from 'preact/hooks';
import { api, unwrap, type Schemas } from '../api';
import { ActionResult, useAction } from '../components';
import { CHANNEL_KINDS } from '../enums';
import { t } from '../i18n';
import { RowEditor, rowsToItems, type Column, type Row } from './incident-rows';

type Site = Schemas['Site'];
type Poc = Schemas['Poc'];

const CHANNEL_COLUMNS: Column[] = [
  { key: 'kind', kind: 'select', values: CHANNEL_KINDS },
  { key: 'value', kind: 'text' },
  { key: 'note', kind: 'text' },
];

interface PocDraft {
  name: string;
  role: string;
  languages: string;
  timeZone: string;
  hours: string;
  channels: Row[];
}

interface SiteDraft {
  name: string;
  description: string;
  networks: string;
  asns: string;
  domains: string;
  teamId: string;
  pocs: PocDraft[];
}

const lines = (text: string) =>
  text
    .split(/[\n,]+/)
    .map((s) => s.trim())
    .filter(Boolean);

function toDraft(site: Site | null): SiteDraft {
  return {
    name: site?.name ?? '',
    description: site?.description ?? '',
    networks: (site?.networks ?? []).join('\n'),
    asns: (site?.asns ?? []).join('\n'),
    domains: (site?.domains ?? []).join('\n'),
    teamId: site?.teamId ?? '',
    pocs: (site?.pocs ?? []).map((p) => ({
      name: p.name,
      role: p.role ?? '',
      languages: p.languages.join(', '),
      timeZone: p.timeZone ?? '',
      hours: p.hours ?? '',
      channels: p.channels.map((c) => ({ kind: c.kind, value: c.value, note: c.note ?? '' })),
    })),
  };
}

function toPocs(drafts: PocDraft[]): Poc[] {
  return drafts.map((d) => ({
    name: d.name.trim(),
    ...(d.role.trim() ? { role: d.role.trim() } : {}),
    channels: rowsToItems(d.channels, CHANNEL_COLUMNS) as Poc['channels'],
    languages: lines(d.languages),
    ...(d.timeZone.trim() ? { timeZone: d.timeZone.trim() } : {}),
    ...(d.hours.trim() ? { hours: d.hours.trim() } : {}),
  }));
}

/** An AS number as typed: "AS64500" or "64500"; anything else goes as typed so the node's 400 names it. */
const asn = (text: string): number => {
  const m = /^(?:as)?(\d{1,10})$/i.exec(text);
  return m ? Number(m[1]) : (text as unknown as number);
};

/**
 * A site of the constituency with its POCs and network scopes (POST /sites, PATCH /sites/{id}):
 * the directory site notifications are built from. Scopes are one per line; each POC has its own
 * rows of channels. A change is sent with If-Match, so an edit over someone else's newer one is
 * refused (412 version-mismatch) instead of silently undoing it.
 */
export function SiteForm({ site, onSaved, onCancel }: { site: Site | null; onSaved: (site: Site) => void; onCancel?: () => void }) {
  const [draft, setDraft] = useState<SiteDraft>(() => toDraft(site));
  const action = useAction();
  const prefix = site ? `site-${site.id}` : 'site-new';
  const id = (field: string) => `${prefix}-${field}`;
  const set = (key: keyof SiteDraft) => (e: Event) => setDraft({ ...draft, [key]: (e.currentTarget as HTMLInputElement).value });
  const setPoc = (n: number, poc: PocDraft) => setDraft({ ...draft, pocs: draft.pocs.map((p, i) => (i === n ? poc : p)) });
  const submit = (e: Event) => {
    e.preventDefault();
    const fields = {
      name: draft.name.trim(),
      pocs: toPocs(draft.pocs),
      networks: lines(draft.networks),
      asns: lines(draft.asns).map(asn),
      domains: lines(draft.domains),
    };
    const description = draft.description.trim();
    const teamId = draft.teamId.trim().toLowerCase();
    const call = site
      ? () =>
          unwrap(
            api().PATCH('/api/v1/sites/{id}', {
              params: { path: { id: site.id }, header: { 'if-match': `"${site.version}"` } },
              body: { ...fields, description: description || null, teamId: teamId || null },
            }),
          )
      : () =>
          unwrap(
            api().POST('/api/v1/sites', {
              body: { ...fields, ...(description ? { description } : {}), ...(teamId ? { teamId } : {}) },
            }),
          );
    action.run(() => call().then(onSaved), site ? t('sites.saved', { name: fields.name }) : null);
  };
  return (
    <form class="stacked" onSubmit={submit} data-testid={site ? `site-form-${site.id}` : 'site-new'} aria-labelledby={id('heading')}>
      <h3 id={id('heading')}>{site ? t('sites.editTitle', { name: site.name }) : t('sites.newTitle')}</h3>
      <label for={id('name')}>{t('sites.name')}</label>
      <input id={id('name')} required maxLength={200} value={draft.name} onInput={set('name')} />
      <label for={id('description')}>{t('sites.description')}</label>
      <textarea id={id('description')} rows={2} maxLength={4000} value={draft.description} onInput={set('description')} />
      <label for={id('networks')}>{t('sites.networks')}</label>
      <textarea id={id('networks')} rows={3} value={draft.networks} onInput={set('networks')} />
      <label for={id('asns')}>{t('sites.asns')}</label>
      <textarea id={id('asns')} rows={2} value={draft.asns} onInput={set('asns')} />
      <label for={id('domains')}>{t('sites.domains')}</label>
      <textarea id={id('domains')} rows={2} value={draft.domains} onInput={set('domains')} />
      <label for={id('team')}>{t('sites.teamId')}</label>
      <input id={id('team')} value={draft.teamId} onInput={set('teamId')} />
      <fieldset data-testid={`${prefix}-pocs`}>
        <legend>{t('sites.pocs')}</legend>
        {draft.pocs.length === 0 && <p class="muted">{t('common.none')}</p>}
        {draft.pocs.map((poc, n) => (
          <PocEditor
            key={n}
            id={`${prefix}-poc-${n}`}
            n={n + 1}
            poc={poc}
            onChange={(next) => setPoc(n, next)}
            onRemove={() => setDraft({ ...draft, pocs: draft.pocs.filter((_, i) => i !== n) })}
          />
        ))}
        <button
          type="button"
          data-testid={`${prefix}-add-poc`}
          onClick={() =>
            setDraft({
              ...draft,
              pocs: [...draft.pocs, { name: '', role: '', languages: '', timeZone: '', hours: '', channels: [{ kind: 'email' }] }],
            })
          }
        >
          {t('sites.addPoc')}
        </button>
      </fieldset>
      <div class="actions">
        <button type="submit" class="primary" disabled={action.busy}>
          {site ? t('sites.save', { name: site.name }) : t('sites.create')}
        </button>{' '}
        {onCancel && (
          <button type="button" onClick={onCancel}>
            {t('account.cancel')}
          </button>
        )}
      </div>
      <ActionResult action={action} testId={`${prefix}-saved`} />
    </form>
  );
}

function PocEditor(props: { id: string; n: number; poc: PocDraft; onChange: (poc: PocDraft) => void; onRemove: () => void }) {
  const { id, n, poc, onChange } = props;
  const set = (key: keyof PocDraft) => (e: Event) => onChange({ ...poc, [key]: (e.currentTarget as HTMLInputElement).value });
  return (
    <fieldset class="row" data-testid={id}>
      <legend>{t('sites.poc', { n })}</legend>
      <label for={`${id}-name`}>{t('sites.pocName')}</label>
      <input id={`${id}-name`} required maxLength={200} value={poc.name} onInput={set('name')} />
      <label for={`${id}-role`}>{t('sites.pocRole')}</label>
      <input id={`${id}-role`} maxLength={200} value={poc.role} onInput={set('role')} />
      <label for={`${id}-languages`}>{t('sites.pocLanguages')}</label>
      <input id={`${id}-languages`} value={poc.languages} onInput={set('languages')} />
      <label for={`${id}-timezone`}>{t('sites.pocTimeZone')}</label>
      <input id={`${id}-timezone`} maxLength={64} value={poc.timeZone} onInput={set('timeZone')} />
      <label for={`${id}-hours`}>{t('sites.pocHours')}</label>
      <input id={`${id}-hours`} maxLength={500} value={poc.hours} onInput={set('hours')} />
      <RowEditor
        id={`${id}-channels`}
        title="sites.channels"
        item="sites.channel"
        columns={CHANNEL_COLUMNS}
        rows={poc.channels}
        onChange={(channels) => onChange({ ...poc, channels })}
      />
      <button type="button" onClick={props.onRemove}>
        {t('sites.removePoc', { n })}
      </button>
    </fieldset>
  );
}
