import { useState } from 'preact/hooks';
import { api, unwrap, type Schemas } from '../api';
import { ActionResult, DateTime, Field, Loading, RemoveTwice, useAction, useLoad } from '../components';
import { t } from '../i18n';
import { SiteForm } from './site-form';

type Site = Schemas['Site'];
type Contact = Schemas['SiteContact'];

/**
 * The constituency's sites (GET /sites, by name; the node's cursor for more), each with its POCs
 * and network scopes, as site notifications use them. Handlers and admins add, change and remove
 * sites; an admin pins a POC address's OpenPGP key (PUT /site-contacts/{email}/key), to which
 * notifications at TLP:AMBER and above are encrypted. Names, POCs and notes are data: text only.
 */
export function SitesPage({ canWrite, admin }: { canWrite: boolean; admin: boolean }) {
  const [query, setQuery] = useState('');
  const [q, setQ] = useState('');
  const [pages, setPages] = useState<string[]>(['']);
  const [adding, setAdding] = useState(false);
  const [tick, setTick] = useState(0);
  const contacts = useLoad(() => unwrap(api().GET('/api/v1/site-contacts', {})), [tick]);
  const reload = () => {
    setPages(['']);
    setTick(tick + 1);
  };
  const byEmail = new Map((contacts.data?.items ?? []).map((c) => [c.email, c]));
  return (
    <section>
      <h1>{t('sites.title')}</h1>
      <p class="muted">{t('sites.intro')}</p>
      <form
        class="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setQ(query.trim());
          setPages(['']);
        }}
      >
        <label for="sites-q">{t('sites.search')}</label>
        <input id="sites-q" value={query} maxLength={200} onInput={(e) => setQuery(e.currentTarget.value)} />
        <button type="submit">{t('sites.find')}</button>
      </form>
      {canWrite &&
        (adding ? (
          <SiteForm
            site={null}
            onSaved={() => {
              setAdding(false);
              reload();
            }}
            onCancel={() => setAdding(false)}
          />
        ) : (
          <p>
            <button type="button" onClick={() => setAdding(true)}>
              {t('sites.new')}
            </button>
          </p>
        ))}
      {pages.map((cursor, n) => (
        <SitePage
          key={`${q}-${tick}-${cursor}`}
          q={q}
          cursor={cursor}
          last={n === pages.length - 1}
          canWrite={canWrite}
          admin={admin}
          contacts={byEmail}
          onMore={(next) => setPages([...pages, next])}
          onChanged={reload}
        />
      ))}
    </section>
  );
}

function SitePage(props: {
  q: string;
  cursor: string;
  last: boolean;
  canWrite: boolean;
  admin: boolean;
  contacts: Map<string, Contact>;
  onMore: (cursor: string) => void;
  onChanged: () => void;
}) {
  const { q, cursor } = props;
  const query = { limit: 50, ...(q ? { q } : {}), ...(cursor ? { cursor } : {}) };
  const page = useLoad(() => unwrap(api().GET('/api/v1/sites', { params: { query } })), [q, cursor]);
  return (
    <Loading state={page}>
      {(p) => (
        <>
          {p.items.length === 0 && !cursor && <p>{t('sites.none')}</p>}
          {p.items.map((site) => (
            <SiteCard key={site.id} site={site} {...props} />
          ))}
          {props.last && p.nextCursor && (
            <button type="button" onClick={() => props.onMore(p.nextCursor!)}>
              {t('sites.more')}
            </button>
          )}
        </>
      )}
    </Loading>
  );
}

function SiteCard(props: { site: Site; canWrite: boolean; admin: boolean; contacts: Map<string, Contact>; onChanged: () => void }) {
  const [current, setCurrent] = useState(props.site);
  const [editing, setEditing] = useState(false);
  const [removing, setRemoving] = useState(false);
  const action = useAction();
  const site = current;
  const remove = () =>
    action.run(
      () =>
        unwrap(
          api().DELETE('/api/v1/sites/{id}', {
            params: { path: { id: site.id }, header: { 'if-match': `"${site.version}"` } },
          }),
        ),
      null,
      props.onChanged,
    );
  const heading = `site-${site.id}-title`;
  return (
    <article class="panel" aria-labelledby={heading} data-testid={`site-${site.id}`}>
      <h2 id={heading}>{site.name}</h2>
      {site.description && <p class="text-block">{site.description}</p>}
      <dl class="facts">
        <Field label={t('sites.networks')}>{site.networks.join(', ')}</Field>
        <Field label={t('sites.asns')}>{site.asns.map((a) => `AS${a}`).join(', ')}</Field>
        <Field label={t('sites.domains')}>{site.domains.join(', ')}</Field>
        <Field label={t('sites.teamId')}>{site.teamId}</Field>
        <Field label={t('sites.updated')}>
          <DateTime value={site.updatedAt} />
        </Field>
      </dl>
      <h3>{t('sites.pocs')}</h3>
      {site.pocs.length === 0 ? (
        <p class="muted">{t('common.none')}</p>
      ) : (
        <ul class="plain">
          {site.pocs.map((poc, n) => (
            <li key={n}>
              <p>
                <strong>{poc.name}</strong>
                {poc.role ? ` (${poc.role})` : ''}
                {poc.languages.length ? ` · ${poc.languages.join(', ')}` : ''}
                {poc.timeZone ? ` · ${poc.timeZone}` : ''}
                {poc.hours ? ` · ${poc.hours}` : ''}
              </p>
              <ul>
                {poc.channels.map((c, i) => (
                  <li key={i}>
                    {t(`channel.${c.kind}`)}: {c.value}
                    {c.note ? ` — ${c.note}` : ''}
                    {c.kind === 'email' && (
                      <ContactKey email={c.value} contact={props.contacts.get(c.value.toLowerCase())} admin={props.admin} />
                    )}
                  </li>
                ))}
              </ul>
            </li>
          ))}
        </ul>
      )}
      {props.canWrite && (
        <div class="actions">
          <button type="button" aria-expanded={editing} onClick={() => setEditing(!editing)}>
            {t('sites.edit', { name: site.name })}
          </button>{' '}
          <RemoveTwice
            confirming={removing}
            setConfirming={setRemoving}
            busy={action.busy}
            onRemove={remove}
            remove={t('sites.remove', { name: site.name })}
            reallyRemove={t('sites.reallyRemove', { name: site.name })}
          />
        </div>
      )}
      <ActionResult action={action} />
      {editing && (
        <SiteForm
          site={site}
          onSaved={(saved) => {
            setCurrent(saved);
            setEditing(false);
          }}
          onCancel={() => setEditing(false)}
        />
      )}
    </article>
  );
}

/** A POC address's pinned key (or none) and, for an admin, the form that pins one. */
function ContactKey({ email, contact, admin }: { email: string; contact: Contact | undefined; admin: boolean }) {
  const [pinned, setPinned] = useState<Contact | undefined>(contact);
  const [open, setOpen] = useState(false);
  const [key, setKey] = useState('');
  const action = useAction();
  const id = `key-${email.replace(/[^A-Za-z0-9]/g, '-')}`;
  const submit = (e: Event) => {
    e.preventDefault();
    action.run(
      () =>
        unwrap(api().PUT('/api/v1/site-contacts/{email}/key', { params: { path: { email } }, body: { publicKey: key } })).then((c) => {
          setPinned(c);
          setKey('');
          setOpen(false);
        }),
      t('sites.keyPinned', { email }),
    );
  };
  return (
    <div class="contact-key" data-testid={`contact-${email}`}>
      {pinned?.fingerprint ? t('sites.keyIs', { fingerprint: pinned.fingerprint }) : t('sites.noKey')}
      {pinned?.failing && (
        <strong class="warning">
          {' · '}
          {t('sites.bouncing', { reason: pinned.lastBounceReason ?? '—' })}
        </strong>
      )}
      {admin && (
        <>
          {' '}
          <button type="button" aria-expanded={open} onClick={() => setOpen(!open)}>
            {t('sites.pinKey', { email })}
          </button>
        </>
      )}
      {open && (
        <form class="stacked" onSubmit={submit}>
          <label for={id}>{t('sites.publicKey', { email })}</label>
          <textarea id={id} required rows={4} value={key} onInput={(e) => setKey(e.currentTarget.value)} />
          <button type="submit" disabled={action.busy}>
            {t('sites.pin')}
          </button>
        </form>
      )}
      <ActionResult action={action} />
    </div>
  );
}
