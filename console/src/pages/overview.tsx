import { api, unwrap, type Schemas } from '../api';
import { BarChart, DateTime, Loading, Tlp, useLoad, type Bar } from '../components';
import { t, type MessageKey } from '../i18n';
import { incidentHref } from '../router';

/** The coordinator's overview (issue 4): its members' activity as SVG charts, and the related-activity warnings. */
export function OverviewPage() {
  const state = useLoad(() => unwrap(api().GET('/api/v1/overview', { params: { query: { period: 'week' } } })), []);
  return (
    <section>
      <h1>{t('overview.title')}</h1>
      <Loading state={state}>
        {(o) => (
          <>
            <p data-testid="overview-total">{t('overview.total', { total: o.total, team: o.team })}</p>
            <div class="charts">
              <BarChart id="by-period" title={t('overview.byPeriod')} bars={bars(o.byPeriod, null, true)} />
              <BarChart id="by-category" title={t('overview.byCategory')} bars={bars(o.byCategory, 'category.')} />
              <BarChart id="by-team" title={t('overview.byTeam')} bars={bars(o.byTeam, null)} />
              <BarChart id="by-phase" title={t('overview.byPhase')} bars={bars(o.byPhase, 'phase.')} />
            </div>
            <Related related={o.related} />
          </>
        )}
      </Loading>
    </section>
  );
}

function bars(counts: Record<string, number>, prefix: string | null, chronological = false): Bar[] {
  const entries = Object.entries(counts);
  entries.sort(chronological ? (a, b) => a[0].localeCompare(b[0]) : (a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return entries.map(([key, value]) => ({ label: prefix ? t(`${prefix}${key}` as MessageKey) : key, value }));
}

function Related({ related }: { related: Schemas['RelatedActivity'][] }) {
  return (
    <section aria-labelledby="related-title">
      <h2 id="related-title">{t('overview.related')}</h2>
      {related.length === 0 ? (
        <p>{t('overview.noRelated')}</p>
      ) : (
        <ul class="related" data-testid="related">
          {related.map((r) => (
            <li key={`${r.kind}-${r.value}`} class="warning-box">
              <strong>
                {t(`related.${r.kind}`)}: {r.value}
              </strong>{' '}
              — {t('overview.teams', { teams: r.teams.join(', ') })}
              <ul>
                {r.reports.map((report) => (
                  <li key={`${report.team}-${report.ref}`}>
                    {report.own ? <a href={incidentHref(report.ref)}>{report.ref}</a> : <span>{report.ref}</span>} ({report.team}) ·{' '}
                    {t(`category.${report.category}`)} · {t(`phase.${report.phase}`)} · <Tlp tlp={report.tlp} /> ·{' '}
                    <DateTime value={report.updated} />
                  </li>
                ))}
              </ul>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
