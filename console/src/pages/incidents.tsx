import { useState } from 'preact/hooks';
import { api, unwrap, type operations, type Schemas } from '../api';
import { DateTime, Loading, Tlp, useLoad } from '../components';
import { CATEGORIES, PHASES, TLPS } from '../enums';
import { t } from '../i18n';
import { incidentHref } from '../router';

type Query = NonNullable<operations['listIncidents']['parameters']['query']>;
type Filters = {
  search: string;
  searchIn: 'host' | 'indicator' | 'externalRef';
  phase: string;
  tlp: string;
  category: string;
  team: string;
  updated: string;
};
const EMPTY: Filters = { search: '', searchIn: 'host', phase: '', tlp: '', category: '', team: '', updated: '' };

/** Incidents, newest first, with the node's filters (team included: GET /incidents?team=). */
export function IncidentsPage({ canWrite }: { canWrite: boolean }) {
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const state = useLoad(() => unwrap(api().GET('/api/v1/incidents', { params: { query: toQuery(filters) } })), [JSON.stringify(filters)]);
  const set = (key: keyof Filters) => (e: Event) => setDraft({ ...draft, [key]: (e.currentTarget as HTMLInputElement).value });
  return (
    <section>
      <h1>{t('incidents.title')}</h1>
      {canWrite && (
        <p>
          <a class="button" href="#/incidents/new">
            {t('incidents.new')}
          </a>
        </p>
      )}
      <form
        class="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setFilters(draft);
        }}
      >
        <label>
          {t('incidents.search')}
          <input name="search" value={draft.search} onInput={set('search')} />
        </label>
        <label>
          {t('incidents.searchIn')}
          <select name="searchIn" value={draft.searchIn} onChange={set('searchIn')}>
            <option value="host">{t('incidents.searchIn.host')}</option>
            <option value="indicator">{t('incidents.searchIn.indicator')}</option>
            <option value="externalRef">{t('incidents.searchIn.externalRef')}</option>
          </select>
        </label>
        <label>
          {t('incident.phase')}
          <select name="phase" value={draft.phase} onChange={set('phase')}>
            <option value="">{t('common.any')}</option>
            {PHASES.map((p) => (
              <option key={p} value={p}>
                {t(`phase.${p}`)}
              </option>
            ))}
          </select>
        </label>
        <label>
          TLP
          <select name="tlp" value={draft.tlp} onChange={set('tlp')}>
            <option value="">{t('common.any')}</option>
            {TLPS.map((v) => (
              <option key={v} value={v}>
                {v}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('incident.category')}
          <select name="category" value={draft.category} onChange={set('category')}>
            <option value="">{t('common.any')}</option>
            {CATEGORIES.map((c) => (
              <option key={c} value={c}>
                {t(`category.${c}`)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('incidents.team')}
          <input name="team" value={draft.team} onInput={set('team')} />
        </label>
        <label>
          {t('incidents.updatedSince')}
          <input name="updated" type="date" value={draft.updated} onInput={set('updated')} />
        </label>
        <button type="submit">{t('incidents.apply')}</button>
      </form>
      <Loading state={state}>{(page) => <IncidentTable items={page.items} />}</Loading>
    </section>
  );
}

function toQuery(f: Filters) {
  const query: Record<string, string> = {};
  if (f.search.trim()) query[f.searchIn] = f.search.trim();
  if (f.phase) query.phase = f.phase;
  if (f.tlp) query.tlp = f.tlp;
  if (f.category) query.category = f.category;
  // The node filters by team (received from it, shared with it, or its reference number); a
  // team id is lower case, so a handler's capitals are not a 400.
  if (f.team.trim()) query.team = f.team.trim().toLowerCase();
  // A day the viewer picked, from its start in the viewer's zone.
  if (f.updated) query.updatedSince = new Date(`${f.updated}T00:00:00`).toISOString();
  return query as Query;
}

function IncidentTable({ items }: { items: Schemas['Incident'][] }) {
  if (items.length === 0) return <p>{t('incidents.empty')}</p>;
  return (
    <table class="list" data-testid="incident-list">
      <caption class="visually-hidden">{t('incidents.title')}</caption>
      <thead>
        <tr>
          <th scope="col">{t('incident.ref')}</th>
          <th scope="col">{t('incident.title')}</th>
          <th scope="col">{t('incident.phase')}</th>
          <th scope="col">TLP</th>
          <th scope="col">{t('incident.category')}</th>
          <th scope="col">{t('incident.updatedAt')}</th>
        </tr>
      </thead>
      <tbody>
        {items.map((i) => (
          <tr key={i.id}>
            <td>
              <a href={incidentHref(i.ref)}>{i.ref}</a>
            </td>
            <td>{i.title}</td>
            <td>{t(`phase.${i.phase}`)}</td>
            <td>
              <Tlp tlp={i.tlp} />
            </td>
            <td>{t(`category.${i.category}`)}</td>
            <td>
              <DateTime value={i.updatedAt} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
