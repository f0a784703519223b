import { useState } from 'preact/hooks';
import { api, problemText, unwrap, type Schemas } from '../api';
import { Problem } from '../components';
import { CATEGORIES, EVIDENCE_KINDS, HOST_ROLES, INDICATOR_KINDS, SEVERITIES, TLPS } from '../enums';
import { t, type MessageKey } from '../i18n';
import { incidentHref, navigate } from '../router';
import { RowEditor, rowsToItems, type Column, type Row } from './incident-rows';

type Create = Schemas['IncidentCreate'];

/** The report's lists, each with a row editor: the columns are the schema's fields of one item. */
const ROW_LISTS = {
  hosts: [
    { key: 'role', kind: 'select', values: HOST_ROLES },
    { key: 'ip', kind: 'text' },
    { key: 'hostname', kind: 'text' },
    { key: 'ports', kind: 'ports' },
    { key: 'protocol', kind: 'text' },
    { key: 'spoofedSource', kind: 'flag' },
    { key: 'description', kind: 'text' },
  ],
  indicators: [
    { key: 'kind', kind: 'select', values: INDICATOR_KINDS },
    { key: 'value', kind: 'text', required: true },
    { key: 'description', kind: 'text' },
  ],
  evidence: [
    { key: 'kind', kind: 'select', values: EVIDENCE_KINDS },
    { key: 'description', kind: 'text' },
    { key: 'source', kind: 'text' },
    { key: 'collectedAt', kind: 'text' },
    { key: 'timeZone', kind: 'text' },
    { key: 'content', kind: 'area' },
  ],
  vulnerabilities: [
    { key: 'cve', kind: 'text' },
    { key: 'description', kind: 'area' },
  ],
  systemChanges: [
    { key: 'description', kind: 'area', required: true },
    { key: 'host', kind: 'text' },
    { key: 'at', kind: 'text' },
  ],
  installedSoftware: [
    { key: 'name', kind: 'text', required: true },
    { key: 'version', kind: 'text' },
    { key: 'path', kind: 'text' },
    { key: 'sha256', kind: 'text' },
    { key: 'description', kind: 'area' },
  ],
} satisfies Record<string, Column[]>;
type RowLists = Record<keyof typeof ROW_LISTS, Row[]>;
const ROW_KEYS = Object.keys(ROW_LISTS) as Array<keyof typeof ROW_LISTS>;
/** What one row is called in the editor's buttons and labels. */
const ROW_ITEM = {
  hosts: 'rows.host',
  indicators: 'rows.indicator',
  evidence: 'rows.evidence',
  vulnerabilities: 'rows.vulnerability',
  systemChanges: 'rows.systemChange',
  installedSoftware: 'rows.software',
} satisfies Record<keyof RowLists, MessageKey>;

/**
 * Recording an incident (§7: what to send). The report's scalar facts are form fields; each of its
 * lists (hosts, indicators, evidence, weaknesses, system changes, installed software) has a row
 * editor. The node validates everything and answers problem+json on a mistake, naming the row.
 */
export function IncidentNewPage() {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [rows, setRows] = useState<RowLists>({
    hosts: [],
    indicators: [],
    evidence: [],
    vulnerabilities: [],
    systemChanges: [],
    installedSoftware: [],
  });
  const submit = (e: Event) => {
    e.preventDefault();
    setError(null);
    let body: Create;
    try {
      body = readForm(new FormData(e.currentTarget as HTMLFormElement), rows);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
      return;
    }
    setBusy(true);
    unwrap(api().POST('/api/v1/incidents', { body })).then(
      (incident) => navigate(incidentHref(incident.ref)),
      (err: unknown) => {
        setBusy(false);
        setError(problemText(err));
      },
    );
  };
  return (
    <section>
      <h1>{t('incidentNew.title')}</h1>
      <form class="stacked" onSubmit={submit}>
        <Text name="title" label="incident.title" required />
        <Area name="summary" label="incident.summary" />
        <Choice name="category" label="incident.category" values={CATEGORIES} prefix="category." />
        <Text name="type" label="incident.type" />
        <Choice name="severity" label="incident.severity" values={SEVERITIES} prefix="severity." initial="medium" />
        <Choice name="tlp" label="incident.tlp" values={TLPS} initial="AMBER" />
        <Text name="firstSeen" label="incident.firstSeen" hint="incidentNew.timeHint" />
        <Text name="lastSeen" label="incident.lastSeen" hint="incidentNew.timeHint" />
        <fieldset>
          <legend>{t('incident.reporter')}</legend>
          <ContactFields prefix="reporter" required />
        </fieldset>
        <fieldset>
          <legend>{t('incident.poc')}</legend>
          <ContactFields prefix="poc" />
        </fieldset>
        <Area name="intruderActivity" label="incident.intruderActivity" />
        {ROW_KEYS.map((key) => (
          <RowEditor
            key={key}
            id={key}
            title={`incident.${key}`}
            item={ROW_ITEM[key]}
            columns={ROW_LISTS[key]}
            rows={rows[key]}
            onChange={(items) => setRows({ ...rows, [key]: items })}
          />
        ))}
        <button type="submit" disabled={busy}>
          {t('incidentNew.submit')}
        </button>
      </form>
      <Problem text={error} />
    </section>
  );
}

const CONTACT_FIELDS = ['name', 'organisation', 'email', 'phone', 'mobile', 'fax', 'postalAddress', 'timeZone', 'language'] as const;

function ContactFields({ prefix, required = false }: { prefix: string; required?: boolean }) {
  return (
    <>
      {CONTACT_FIELDS.map((f) => (
        <Text key={f} name={`${prefix}.${f}`} label={`contact.${f}`} required={required && f === 'name'} />
      ))}
    </>
  );
}

function readForm(form: FormData, rows: RowLists): Create {
  const text = (name: string) => {
    const value = form.get(name);
    return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
  };
  const contact = (prefix: string) => {
    const entries = CONTACT_FIELDS.map((f) => [f, text(`${prefix}.${f}`)] as const).filter(([, v]) => v !== undefined);
    return entries.length ? (Object.fromEntries(entries) as Schemas['Contact']) : undefined;
  };
  const body: Record<string, unknown> = {
    title: text('title'),
    category: text('category'),
    severity: text('severity'),
    tlp: text('tlp'),
    reporter: contact('reporter') ?? { name: '' },
  };
  for (const name of ['summary', 'type', 'firstSeen', 'lastSeen', 'intruderActivity']) {
    const value = text(name);
    if (value !== undefined) body[name] = value;
  }
  const poc = contact('poc');
  if (poc) body.poc = poc;
  for (const key of ROW_KEYS) {
    const items = rowsToItems(rows[key], ROW_LISTS[key]);
    if (items.length > 0) body[key] = items;
  }
  return body as Create;
}

function Text({ name, label, required, hint }: { name: string; label: MessageKey; required?: boolean; hint?: MessageKey }) {
  const id = `f-${name.replace('.', '-')}`;
  return (
    <div class="field">
      <label for={id}>{t(label)}</label>
      <input id={id} name={name} required={required} aria-describedby={hint ? `${id}-hint` : undefined} />
      {hint ? (
        <small id={`${id}-hint`} class="hint">
          {t(hint)}
        </small>
      ) : null}
    </div>
  );
}

function Area({ name, label, hint, rows = 3 }: { name: string; label: MessageKey; hint?: MessageKey; rows?: number }) {
  const id = `f-${name}`;
  return (
    <div class="field">
      <label for={id}>{t(label)}</label>
      <textarea id={id} name={name} rows={rows} aria-describedby={hint ? `${id}-hint` : undefined} />
      {hint ? (
        <small id={`${id}-hint`} class="hint">
          {t(hint)}
        </small>
      ) : null}
    </div>
  );
}

function Choice(props: { name: string; label: MessageKey; values: string[]; prefix?: string; initial?: string }) {
  const id = `f-${props.name}`;
  // Held here: a controlled select would snap back to `initial` whenever the page re-renders (a row added).
  const [value, setValue] = useState(props.initial ?? props.values[0]);
  return (
    <div class="field">
      <label for={id}>{t(props.label)}</label>
      <select id={id} name={props.name} value={value} onChange={(e) => setValue(e.currentTarget.value)}>
        {props.values.map((v) => (
          <option key={v} value={v}>
            {props.prefix ? t(`${props.prefix}${v}` as MessageKey) : v}
          </option>
        ))}
      </select>
    </div>
  );
}
