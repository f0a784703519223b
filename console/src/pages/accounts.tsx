import { useState } from 'preact/hooks';
import { api, unwrap, type Schemas } from '../api';
import { ActionResult, DateTime, Loading, useAction, useLoad, type Action } from '../components';
import { t } from '../i18n';
import type { Session } from '../session';

type Account = Schemas['Account'];
type Role = Account['role'];
const ROLES: Role[] = ['reader', 'handler', 'admin'];

/**
 * Accounts administration (admins): the node's handler accounts, a new one, and per account its
 * role, disabled flag, TOTP and removal (GET/POST /accounts, PATCH/DELETE /accounts/{name},
 * POST/DELETE /accounts/{name}/totp). The node refuses to leave no enabled admin (409
 * last-active-admin); the page says so in words next to the code.
 */
export function AccountsPage({ session }: { session: Session }) {
  const admin = session.account.role === 'admin';
  const list = useLoad(() => (admin ? unwrap(api().GET('/api/v1/accounts', {})) : Promise.resolve({ items: [] })), [admin]);
  if (!admin)
    return (
      <section>
        <h1>{t('accounts.title')}</h1>
        <p>{t('accounts.adminsOnly')}</p>
      </section>
    );
  return (
    <section>
      <h1>{t('accounts.title')}</h1>
      <Loading state={list}>
        {(page) => (
          <div class="scroll">
            <table class="list" data-testid="accounts">
              <caption>{t('accounts.list')}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('account.name')}</th>
                  <th scope="col">{t('account.displayName')}</th>
                  <th scope="col">{t('account.role')}</th>
                  <th scope="col">{t('accounts.state')}</th>
                  <th scope="col">{t('account.totp')}</th>
                  <th scope="col">{t('accounts.updated')}</th>
                  <th scope="col">{t('accounts.actions')}</th>
                </tr>
              </thead>
              <tbody>
                {page.items.map((a) => (
                  <AccountRow key={a.name} account={a} self={a.name === session.account.name} onChanged={list.reload} />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Loading>
      <CreateForm onCreated={list.reload} />
    </section>
  );
}

/** A refusal, with the last-admin guard explained (the code stays visible for the runbook). */
function Refusal({ action }: { action: Action }) {
  return (
    <>
      <ActionResult action={action} />
      {action.code === 'last-active-admin' && (
        <p class="warning" data-testid="last-admin">
          {t('accounts.lastAdmin')}
        </p>
      )}
    </>
  );
}

function AccountRow({ account, self, onChanged }: { account: Account; self: boolean; onChanged: () => void }) {
  const path = { name: account.name };
  const action = useAction();
  const [role, setRole] = useState<Role>(account.role);
  const [removing, setRemoving] = useState(false);
  const [totp, setTotp] = useState<Schemas['TotpEnrolment'] | null>(null);
  const patch = (body: Schemas['AccountPatch'], done: string) =>
    action.run(() => unwrap(api().PATCH('/api/v1/accounts/{name}', { params: { path }, body })), done, onChanged);
  const roleId = `role-${account.name}`;
  return (
    <tr data-testid={`account-${account.name}`}>
      <td>
        {account.name}
        {self && <span class="muted"> ({t('accounts.you')})</span>}
      </td>
      <td>{account.displayName}</td>
      <td>{t(`role.${account.role}`)}</td>
      <td>{account.disabled ? t('accounts.disabled') : t('accounts.enabled')}</td>
      <td>{account.totp ? t('common.yes') : t('common.no')}</td>
      <td>
        <DateTime value={account.updatedAt} />
      </td>
      <td>
        <div class="actions">
          <label for={roleId} class="visually-hidden">
            {t('accounts.newRole', { name: account.name })}
          </label>
          <select id={roleId} value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {t(`role.${r}`)}
              </option>
            ))}
          </select>
          <button
            type="button"
            disabled={action.busy || role === account.role}
            onClick={() => patch({ role }, t('accounts.roleChanged', { name: account.name }))}
          >
            {t('accounts.changeRole', { name: account.name })}
          </button>
          <button
            type="button"
            disabled={action.busy}
            onClick={() =>
              patch(
                { disabled: !account.disabled },
                t(account.disabled ? 'accounts.enabledDone' : 'accounts.disabledDone', { name: account.name }),
              )
            }
          >
            {t(account.disabled ? 'accounts.enable' : 'accounts.disable', { name: account.name })}
          </button>
          <button
            type="button"
            disabled={action.busy}
            onClick={() =>
              action.run(
                async () => setTotp(await unwrap(api().POST('/api/v1/accounts/{name}/totp', { params: { path } }))),
                t('accounts.totpReset', { name: account.name }),
                onChanged,
              )
            }
          >
            {t('accounts.resetTotp', { name: account.name })}
          </button>
          {account.totp && (
            <button
              type="button"
              disabled={action.busy}
              onClick={() =>
                action.run(
                  () => unwrap(api().DELETE('/api/v1/accounts/{name}/totp', { params: { path } })),
                  t('accounts.totpRemoved', { name: account.name }),
                  onChanged,
                )
              }
            >
              {t('accounts.removeTotp', { name: account.name })}
            </button>
          )}
          {!removing ? (
            <button type="button" disabled={action.busy} onClick={() => setRemoving(true)}>
              {t('accounts.remove', { name: account.name })}
            </button>
          ) : (
            <>
              <button
                type="button"
                class="primary"
                disabled={action.busy}
                onClick={() =>
                  action.run(
                    () => unwrap(api().DELETE('/api/v1/accounts/{name}', { params: { path } })),
                    t('accounts.removed', { name: account.name }),
                    onChanged,
                  )
                }
              >
                {t('accounts.confirmRemove', { name: account.name })}
              </button>
              <button type="button" onClick={() => setRemoving(false)}>
                {t('account.cancel')}
              </button>
            </>
          )}
        </div>
        {totp && (
          <dl class="facts" data-testid={`totp-${account.name}`}>
            <dt>{t('account.totpSecret')}</dt>
            <dd>
              <code>{totp.secret}</code>
            </dd>
            <dt>{t('account.totpUri')}</dt>
            <dd>
              <code class="wrap">{totp.uri}</code>
            </dd>
          </dl>
        )}
        <Refusal action={action} />
      </td>
    </tr>
  );
}

function CreateForm({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [role, setRole] = useState<Role>('handler');
  const [language, setLanguage] = useState<Account['language']>('ja');
  const [password, setPassword] = useState('');
  const [generated, setGenerated] = useState<string | null>(null);
  const action = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    setGenerated(null);
    const body: Schemas['AccountCreate'] = {
      name: name.trim(),
      role,
      language,
      ...(displayName.trim() ? { displayName: displayName.trim() } : {}),
      ...(password ? { password } : {}),
    };
    action.run(
      async () => {
        const created = await unwrap(api().POST('/api/v1/accounts', { body }));
        setGenerated(created.password ?? null);
      },
      t('accounts.created', { name: body.name }),
      () => {
        setName('');
        setDisplayName('');
        setPassword('');
        onCreated();
      },
    );
  };
  return (
    <form class="stacked account-form" onSubmit={submit} aria-labelledby="new-account-heading" data-testid="account-create">
      <h2 id="new-account-heading">{t('accounts.create')}</h2>
      <label>
        {t('account.name')}
        <input name="name" required pattern="[a-z0-9][a-z0-9._\-]{0,62}" value={name} onInput={(e) => setName(e.currentTarget.value)} />
      </label>
      <label>
        {t('account.displayName')}
        <input name="displayName" maxLength={200} value={displayName} onInput={(e) => setDisplayName(e.currentTarget.value)} />
      </label>
      <label>
        {t('account.role')}
        <select name="role" value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {t(`role.${r}`)}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t('header.language')}
        <select name="language" value={language} onChange={(e) => setLanguage(e.currentTarget.value as Account['language'])}>
          <option value="ja">日本語</option>
          <option value="en">English</option>
        </select>
      </label>
      <label>
        {t('accounts.initialPassword')}
        <input
          type="password"
          name="password"
          autoComplete="new-password"
          minLength={12}
          maxLength={1024}
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
      </label>
      <p class="muted">{t('accounts.passwordHint')}</p>
      <button type="submit" class="primary" disabled={action.busy}>
        {t('accounts.createSubmit')}
      </button>
      <ActionResult action={action} testId="account-created" />
      {generated && (
        <p>
          {t('accounts.generated')} <code data-testid="generated-password">{generated}</code>
        </p>
      )}
    </form>
  );
}
