import { useEffect, useState } from 'preact/hooks';
import { problemText } from './api';
import { PageBoundary, Problem } from './components';
import { currentLanguage, setLanguage, t, type Language } from './i18n';
import { AccountPage } from './pages/account';
import { AccountsPage } from './pages/accounts';
import { AuditPage } from './pages/audit';
import { CaseDetailPage } from './pages/case-detail';
import { CasesPage } from './pages/cases';
import { CounterMeasuresPage } from './pages/counter-measures';
import { ForumsPage } from './pages/forums';
import { IncidentDetailPage } from './pages/incident-detail';
import { IncidentNewPage } from './pages/incident-new';
import { IncidentsPage } from './pages/incidents';
import { InquiriesPage } from './pages/inquiries';
import { OutsidePage } from './pages/outside';
import { OverviewPage } from './pages/overview';
import { PeersPage } from './pages/peers';
import { ProfilePage } from './pages/profile';
import { QuarantinePage } from './pages/quarantine';
import { SharePage } from './pages/share';
import { SignInPage } from './pages/sign-in';
import { SiteNoticesPage } from './pages/site-notices';
import { SitesPage } from './pages/sites';
import { useRoute, type Route } from './router';
import { changeLanguage, readSession, signOut, type Session } from './session';

/** The console's frame: the session, the header (navigation, language, sign-out) and the page. */
export function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [, setLang] = useState<Language>(currentLanguage());
  const route = useRoute();

  const adopt = (next: Session | null) => {
    if (next) {
      setLanguage(next.account.language);
      setLang(next.account.language);
    }
    setSession(next);
  };
  useEffect(() => {
    setLanguage(currentLanguage());
    readSession().then(adopt, (e: unknown) => {
      setError(problemText(e));
      setSession(null);
    });
  }, []);

  if (session === undefined) return <p aria-busy="true">{t('common.loading')}</p>;
  if (session === null)
    return (
      <>
        <Problem text={error} />
        <SignInPage onSignedIn={adopt} />
      </>
    );

  const switchLanguage = (language: Language) => {
    changeLanguage(language).then(adopt, (e: unknown) => setError(problemText(e)));
  };
  return (
    <>
      <a class="skip-link" href="#main">
        {t('nav.skip')}
      </a>
      <header class="top">
        <span class="brand">{t('app.title')}</span>
        <nav aria-label={t('nav.label')}>
          <ul>
            <NavLink href="#/incidents" label={t('nav.incidents')} active={route.page.startsWith('incident') || route.page === 'share'} />
            <NavLink href="#/overview" label={t('nav.overview')} active={route.page === 'overview'} />
            <NavLink href="#/inquiries" label={t('nav.inquiries')} active={route.page === 'inquiries'} />
            <NavLink href="#/peers" label={t('nav.peers')} active={route.page === 'peers'} />
            <NavLink href="#/forums" label={t('nav.forums')} active={route.page === 'forums'} />
            <NavLink href="#/sites" label={t('nav.sites')} active={route.page === 'sites'} />
            <NavLink href="#/counter-measures" label={t('nav.templates')} active={route.page === 'counter-measures'} />
            <NavLink href="#/cases" label={t('nav.cases')} active={route.page === 'cases' || route.page === 'case'} />
            <NavLink href="#/outside" label={t('nav.outside')} active={route.page === 'outside'} />
            <NavLink href="#/site-notices" label={t('nav.notices')} active={route.page === 'site-notices'} />
            {/* The node lets admins read the audit log and handlers the quarantine: no link to a page that answers 403. */}
            {session.account.role === 'admin' && <NavLink href="#/audit" label={t('nav.audit')} active={route.page === 'audit'} />}
            {session.account.role !== 'reader' && (
              <NavLink href="#/quarantine" label={t('nav.quarantine')} active={route.page === 'quarantine'} />
            )}
            <NavLink href="#/profile" label={t('nav.profile')} active={route.page === 'profile'} />
            {session.account.role === 'admin' && <NavLink href="#/accounts" label={t('nav.accounts')} active={route.page === 'accounts'} />}
          </ul>
        </nav>
        <div class="account">
          <a
            href="#/account"
            title={t('nav.account')}
            data-testid="account-name"
            aria-current={route.page === 'account' ? 'page' : undefined}
          >
            {session.account.displayName} ({t(`role.${session.account.role}`)})
          </a>
          <label>
            {t('header.language')}{' '}
            <select
              data-testid="language"
              value={session.account.language}
              onChange={(e) => switchLanguage((e.currentTarget as HTMLSelectElement).value as Language)}
            >
              <option value="ja">日本語</option>
              <option value="en">English</option>
            </select>
          </label>
          <button
            type="button"
            onClick={() =>
              signOut().then(
                () => setSession(null),
                (e: unknown) => setError(problemText(e)),
              )
            }
          >
            {t('header.signOut')}
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Problem text={error} />
        <PageBoundary key={location.hash}>
          <Page
            route={route}
            session={session}
            onSessionChanged={() => readSession().then(adopt, (e: unknown) => setError(problemText(e)))}
          />
        </PageBoundary>
      </main>
    </>
  );
}

function NavLink({ href, label, active }: { href: string; label: string; active: boolean }) {
  return (
    <li>
      <a href={href} aria-current={active ? 'page' : undefined}>
        {label}
      </a>
    </li>
  );
}

function Page({ route, session, onSessionChanged }: { route: Route; session: Session; onSessionChanged: () => void }) {
  // Readers read; the buttons that change something are for handlers and admins (the node decides again).
  const canWrite = session.account.role !== 'reader';
  switch (route.page) {
    case 'incidents':
      return <IncidentsPage canWrite={canWrite} />;
    case 'incident-new':
      return <IncidentNewPage />;
    case 'incident':
      return <IncidentDetailPage key={route.ref} incidentRef={route.ref} canWrite={canWrite} />;
    case 'share':
      return <SharePage key={route.ref} incidentRef={route.ref} canWrite={canWrite} />;
    case 'overview':
      return <OverviewPage />;
    case 'inquiries':
      return <InquiriesPage canWrite={canWrite} />;
    case 'peers':
      return <PeersPage admin={session.account.role === 'admin'} />;
    case 'audit':
      return <AuditPage />;
    case 'quarantine':
      return <QuarantinePage admin={session.account.role === 'admin'} />;
    case 'profile':
      return <ProfilePage admin={session.account.role === 'admin'} />;
    case 'forums':
      return <ForumsPage admin={session.account.role === 'admin'} />;
    case 'account':
      return <AccountPage session={session} onChanged={onSessionChanged} />;
    case 'accounts':
      return <AccountsPage session={session} />;
    case 'cases':
      return <CasesPage canWrite={canWrite} />;
    case 'outside':
      return <OutsidePage canWrite={canWrite} />;
    case 'sites':
      return <SitesPage canWrite={canWrite} admin={session.account.role === 'admin'} />;
    case 'counter-measures':
      return <CounterMeasuresPage admin={session.account.role === 'admin'} />;
    case 'site-notices':
      return <SiteNoticesPage canWrite={canWrite} />;
    case 'case':
      return <CaseDetailPage key={route.id} caseId={route.id} canWrite={canWrite} />;
  }
}
