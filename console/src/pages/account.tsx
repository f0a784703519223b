import { useState } from 'preact/hooks';
import { api, problemText, unwrap, type Schemas } from '../api';
import { Problem } from '../components';
import { t } from '../i18n';
import type { Session } from '../session';

/**
 * "My account": the signed-in person's own password and TOTP (PUT /session/password, POST
 * /session/totp-secret, PUT /session/totp, POST /session/totp/removal). Each change asks for the
 * current password: a session left open on a desk must not replace the account's factors.
 */
export function AccountPage({ session, onChanged }: { session: Session; onChanged: () => void }) {
  const { account } = session;
  return (
    <section>
      <h1>{t('account.title')}</h1>
      <dl class="facts">
        <dt>{t('account.name')}</dt>
        <dd data-testid="own-account">{account.name}</dd>
        <dt>{t('account.displayName')}</dt>
        <dd>{account.displayName}</dd>
        <dt>{t('account.role')}</dt>
        <dd>{t(`role.${account.role}`)}</dd>
      </dl>
      <PasswordForm />
      <TotpSection enrolled={account.totp} onChanged={onChanged} />
    </section>
  );
}

function useSubmit() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const run = (work: () => Promise<unknown>, success: string, after?: () => void) => {
    setBusy(true);
    setError(null);
    setDone(null);
    work().then(
      () => {
        setBusy(false);
        setDone(success);
        after?.();
      },
      (e: unknown) => {
        setBusy(false);
        setError(problemText(e));
      },
    );
  };
  return { busy, error, done, setError, run };
}

function PasswordForm() {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const state = useSubmit();
  const submit = (e: Event) => {
    e.preventDefault();
    if (next !== repeat) return state.setError(t('account.passwordsDiffer'));
    state.run(
      () => unwrap(api().PUT('/api/v1/session/password', { body: { currentPassword: current, newPassword: next } })),
      t('account.passwordChanged'),
      () => {
        setCurrent('');
        setNext('');
        setRepeat('');
      },
    );
  };
  return (
    <form class="stacked account-form" onSubmit={submit} aria-labelledby="password-heading">
      <h2 id="password-heading">{t('account.password')}</h2>
      <label>
        {t('account.currentPassword')}
        <input
          type="password"
          name="currentPassword"
          autoComplete="current-password"
          required
          value={current}
          onInput={(e) => setCurrent(e.currentTarget.value)}
        />
      </label>
      <label>
        {t('account.newPassword')}
        <input
          type="password"
          name="newPassword"
          autoComplete="new-password"
          required
          minLength={12}
          maxLength={1024}
          value={next}
          onInput={(e) => setNext(e.currentTarget.value)}
        />
      </label>
      <label>
        {t('account.repeatPassword')}
        <input
          type="password"
          name="repeatPassword"
          autoComplete="new-password"
          required
          value={repeat}
          onInput={(e) => setRepeat(e.currentTarget.value)}
        />
      </label>
      <p class="muted">{t('account.passwordHint')}</p>
      <button type="submit" disabled={state.busy}>
        {t('account.changePassword')}
      </button>
      <Problem text={state.error} />
      {state.done && (
        <p role="status" data-testid="password-done">
          {state.done}
        </p>
      )}
    </form>
  );
}

function TotpSection({ enrolled, onChanged }: { enrolled: boolean; onChanged: () => void }) {
  const [proposal, setProposal] = useState<Schemas['TotpEnrolment'] | null>(null);
  const [code, setCode] = useState('');
  const [current, setCurrent] = useState('');
  const state = useSubmit();
  const propose = () =>
    state.run(async () => setProposal(await unwrap(api().POST('/api/v1/session/totp-secret', {}))), t('account.totpProposed'));
  const enrol = (e: Event) => {
    e.preventDefault();
    if (!proposal) return;
    state.run(
      () => unwrap(api().PUT('/api/v1/session/totp', { body: { currentPassword: current, secret: proposal.secret, code: code.trim() } })),
      t('account.totpEnrolled'),
      () => {
        setProposal(null);
        setCode('');
        setCurrent('');
        onChanged();
      },
    );
  };
  const remove = (e: Event) => {
    e.preventDefault();
    state.run(
      () => unwrap(api().POST('/api/v1/session/totp/removal', { body: { currentPassword: current } })),
      t('account.totpRemoved'),
      () => {
        setCurrent('');
        onChanged();
      },
    );
  };
  const password = (
    <label>
      {t('account.currentPassword')}
      <input
        type="password"
        name="totpCurrentPassword"
        autoComplete="current-password"
        required
        value={current}
        onInput={(e) => setCurrent(e.currentTarget.value)}
      />
    </label>
  );
  return (
    <section aria-labelledby="totp-heading">
      <h2 id="totp-heading">{t('account.totp')}</h2>
      <p data-testid="totp-state">{enrolled ? t('account.totpOn') : t('account.totpOff')}</p>
      {!proposal && (
        <button type="button" onClick={propose} disabled={state.busy}>
          {enrolled ? t('account.totpReplace') : t('account.totpSetUp')}
        </button>
      )}
      {proposal && (
        <form class="stacked account-form" onSubmit={enrol}>
          <p>{t('account.totpInstructions')}</p>
          <dl class="facts">
            <dt>{t('account.totpSecret')}</dt>
            <dd>
              <code data-testid="totp-secret">{proposal.secret}</code>
            </dd>
            <dt>{t('account.totpUri')}</dt>
            <dd>
              <code class="wrap">{proposal.uri}</code>
            </dd>
          </dl>
          <label>
            {t('account.totpCode')}
            <input
              name="totpCode"
              inputMode="numeric"
              autoComplete="one-time-code"
              pattern="[0-9]{6}"
              required
              value={code}
              onInput={(e) => setCode(e.currentTarget.value)}
            />
          </label>
          {password}
          <button type="submit" disabled={state.busy}>
            {t('account.totpConfirm')}
          </button>
          <button type="button" onClick={() => setProposal(null)}>
            {t('account.cancel')}
          </button>
        </form>
      )}
      {enrolled && !proposal && (
        <form class="stacked account-form" onSubmit={remove}>
          <h3>{t('account.totpRemove')}</h3>
          {password}
          <button type="submit" disabled={state.busy}>
            {t('account.totpRemove')}
          </button>
        </form>
      )}
      <Problem text={state.error} />
      {state.done && (
        <p role="status" data-testid="totp-done">
          {state.done}
        </p>
      )}
    </section>
  );
}
