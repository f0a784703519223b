import type { Schemas } from '../api';
import { DateTime, Field } from '../components';
import { t, type MessageKey } from '../i18n';

type Incident = Schemas['Incident'];

/**
 * Every field of the report the lecture lists (§7): contacts, hosts, the intruder's activity,
 * the weakness exploited, changes made, software installed, logs (evidence, with the time zone
 * its times are in), indicators. Text only: these fields come from other teams and attackers.
 */
export function ReportFacts({ incident: i }: { incident: Incident }) {
  return (
    <>
      <section aria-labelledby="facts-title">
        <h2 id="facts-title">{t('incident.facts')}</h2>
        <dl class="facts">
          <Field label={t('incident.summary')}>{i.summary}</Field>
          <Field label={t('incident.type')}>{i.type}</Field>
          <Field label={t('incident.firstSeen')}>
            <DateTime value={i.firstSeen} />
          </Field>
          <Field label={t('incident.lastSeen')}>
            <DateTime value={i.lastSeen} />
          </Field>
          <Field label={t('incident.createdAt')}>
            <DateTime value={i.createdAt} /> · {i.createdBy}
          </Field>
          <Field label={t('incident.updatedAt')}>
            <DateTime value={i.updatedAt} /> · v{i.version}
          </Field>
          <Field label={t('incident.intruderActivity')}>{i.intruderActivity ? <p class="prose">{i.intruderActivity}</p> : null}</Field>
        </dl>
      </section>
      <section aria-labelledby="contacts-title">
        <h2 id="contacts-title">{t('incident.contacts')}</h2>
        <div class="columns">
          <Contact title={t('incident.reporter')} contact={i.reporter} />
          <Contact title={t('incident.poc')} contact={i.poc} />
        </div>
      </section>
      <ListSection
        id="hosts"
        title="incident.hosts"
        items={i.hosts}
        columns={['role', 'ip', 'hostname', 'ports', 'protocol', 'spoofedSource', 'description']}
      />
      <ListSection id="indicators" title="incident.indicators" items={i.indicators} columns={['kind', 'value', 'description']} />
      <ListSection id="vulnerabilities" title="incident.vulnerabilities" items={i.vulnerabilities} columns={['cve', 'description']} />
      <ListSection id="changes" title="incident.systemChanges" items={i.systemChanges} columns={['at', 'host', 'description']} />
      <ListSection
        id="software"
        title="incident.installedSoftware"
        items={i.installedSoftware}
        columns={['name', 'version', 'path', 'sha256', 'description']}
      />
      <ListSection
        id="evidence"
        title="incident.evidence"
        items={i.evidence}
        columns={['kind', 'description', 'source', 'collectedAt', 'timeZone', 'content']}
      />
    </>
  );
}

function Contact({ title, contact }: { title: string; contact: Schemas['Contact'] | null }) {
  return (
    <div>
      <h3>{title}</h3>
      {contact ? (
        <dl class="facts">
          {(['name', 'organisation', 'email', 'phone', 'mobile', 'fax', 'postalAddress', 'timeZone', 'language'] as const).map((f) => (
            <Field key={f} label={t(`contact.${f}`)}>
              {contact[f]}
            </Field>
          ))}
        </dl>
      ) : (
        <p class="muted">—</p>
      )}
    </div>
  );
}

/** A list of records as a table; times (at, collectedAt) with their offset and in the viewer's zone. */
function ListSection<T extends object>({ id, title, items, columns }: { id: string; title: MessageKey; items: T[]; columns: string[] }) {
  return (
    <section aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{t(title)}</h2>
      {items.length === 0 ? (
        <p class="muted">{t('common.none')}</p>
      ) : (
        <div class="scroll">
          <table class="list" data-testid={`list-${id}`}>
            <thead>
              <tr>
                {columns.map((c) => (
                  <th key={c} scope="col">
                    {t(`column.${c}` as MessageKey)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {items.map((item, n) => (
                <tr key={n}>
                  {columns.map((c) => (
                    <td key={c}>
                      <Cell column={c} value={(item as Record<string, unknown>)[c]} />
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function Cell({ column, value }: { column: string; value: unknown }) {
  if (value === undefined || value === null || value === '') return <span class="muted">—</span>;
  if ((column === 'at' || column === 'collectedAt') && typeof value === 'string') return <DateTime value={value} />;
  if (column === 'content' && typeof value === 'string') return <pre class="evidence">{value}</pre>;
  if (Array.isArray(value)) return <>{value.join(', ')}</>;
  if (typeof value === 'boolean') return <>{t(value ? 'common.yes' : 'common.no')}</>;
  return <>{String(value)}</>;
}
