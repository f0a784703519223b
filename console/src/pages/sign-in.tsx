import { useState } from 'preact/hooks';
import { problemText } from '../api';
import { Problem } from '../components';
import { t } from '../i18n';
import { signIn, type Session } from '../session';

export function SignInPage({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  const [account, setAccount] = useState('');
  const [password, setPassword] = useState('');
  const [totp, setTotp] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    signIn(account, password, totp).then(onSignedIn, (err: unknown) => {
      setBusy(false);
      setError(problemText(err));
    });
  };
  return (
    <main id="main" class="sign-in">
      <h1>{t('signIn.title')}</h1>
      <form onSubmit={submit}>
        <label for="account">{t('signIn.account')}</label>
        <input
          id="account"
          name="account"
          autoComplete="username"
          required
          value={account}
          onInput={(e) => setAccount(e.currentTarget.value)}
        />
        <label for="password">{t('signIn.password')}</label>
        <input
          id="password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
        <label for="totp">{t('signIn.totp')}</label>
        <input
          id="totp"
          name="totp"
          inputMode="numeric"
          autoComplete="one-time-code"
          pattern="[0-9]{6}"
          value={totp}
          onInput={(e) => setTotp(e.currentTarget.value)}
        />
        <button type="submit" disabled={busy}>
          {t('signIn.submit')}
        </button>
      </form>
      <Problem text={error} />
    </main>
  );
}
