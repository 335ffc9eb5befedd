/**
 * Sign in and create an account: one form with two modes, with the server's refusals explained in
 * words. Opened from an invite link (`/invite/<code>`), it starts in sign-up and sends the code.
 */
import { ErrorCode, SwitchboardError } from '@switchboard/client';
import { Limits, forbiddenNameCharacter } from '@switchboard/protocol';
import { useId, useState, type FormEvent } from 'react';
import type { AppModel } from './app-model.js';
import { navigate } from './router.js';

type Mode = 'sign-in' | 'sign-up';

/** The server's password-policy refusals (domain/passwords.ts): "password: <why>". */
const PASSWORD_POLICY = /^password: ((?:is too common|contains the username).*)$/;

/** "12 seconds", "1 minute", "15 minutes": how long the server asked to wait. */
function waitFor(ms: number): string {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}

function explain(err: unknown, mode: Mode, invited: boolean): string {
  if (!(err instanceof SwitchboardError)) return 'Something went wrong. Please try again.';
  switch (err.code) {
    case ErrorCode.UNAUTHENTICATED:
      return 'Wrong username or password.';
    case ErrorCode.CONFLICT:
      return 'That username is taken. Please choose another one.';
    case ErrorCode.RATE_LIMITED:
      return `Too many attempts. Please try again in ${waitFor(err.retryAfterMs ?? 60_000)}.`;
    case ErrorCode.FORBIDDEN:
      if (mode !== 'sign-up') return err.message;
      return invited
        ? 'This invite link is unknown, used up or expired. Ask for a new one.'
        : 'This server does not accept new accounts. Ask an administrator for one.';
    case ErrorCode.INVALID_ARGUMENT: {
      const policy = mode === 'sign-up' ? PASSWORD_POLICY.exec(err.message) : null;
      return policy ? `Please choose another password: it ${policy[1]}.` : `Please check the form: ${err.message}`;
    }
    case ErrorCode.UNAVAILABLE:
      // With retryAfterMs the server answered, but is too busy checking passwords right now.
      return err.retryAfterMs !== undefined
        ? `The server is busy. Please try again in ${waitFor(err.retryAfterMs)}.`
        : 'The server cannot be reached. Check your connection and try again.';
    default:
      return err.message;
  }
}

export function AuthScreen({ model, notice, inviteCode }: { model: AppModel; notice: string | undefined; inviteCode: string | undefined }) {
  const [mode, setMode] = useState<Mode>(inviteCode === undefined ? 'sign-in' : 'sign-up');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const id = useId();
  const signUp = mode === 'sign-up';

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    // The protocol's name rule, checked here too, so a refused character is named before sending.
    const forbidden = signUp ? forbiddenNameCharacter(displayName) : undefined;
    if (forbidden !== undefined) {
      setError(`The display name contains an invisible, control or direction-changing character (${forbidden}).`);
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      if (signUp) await model.signUp(username.trim(), password, displayName.trim() || undefined, inviteCode);
      else await model.signIn(username.trim(), password);
      // An invite link has done its work: the app goes on at its home address.
      if (inviteCode !== undefined) navigate(undefined, { replace: true });
    } catch (err) {
      setError(explain(err, mode, inviteCode !== undefined));
      setBusy(false);
    }
  };

  const switchMode = (next: Mode) => {
    setMode(next);
    setError(undefined);
  };

  return (
    <main className="auth">
      <div className="auth-card">
        <div className="brand brand-large">
          <span className="brand-mark" aria-hidden="true" />
          <span>Switchboard</span>
        </div>
        <h1 className="auth-title">{signUp ? 'Create your account' : 'Sign in to your team'}</h1>
        <p className="auth-subtitle">
          {signUp
            ? inviteCode !== undefined
              ? 'You were invited. Pick a username your teammates will @mention.'
              : 'Pick a username your teammates will @mention.'
            : 'Welcome back. Your conversations are waiting.'}
        </p>
        {notice && !error && (
          <p className="notice" role="status">
            {notice}
          </p>
        )}
        <form onSubmit={(e) => void submit(e)} aria-describedby={error ? `${id}-error` : undefined}>
          <label className="field">
            <span>Username</span>
            <input
              name="username"
              autoComplete="username"
              autoCapitalize="none"
              spellCheck={false}
              required
              minLength={signUp ? Limits.usernameMin : 1}
              maxLength={Limits.usernameMax}
              pattern={signUp ? '[A-Za-z0-9_.\\-]+' : undefined}
              title={signUp ? '3 to 32 letters, digits, dots, dashes or underscores' : undefined}
              value={username}
              onChange={(e) => setUsername(e.target.value)}
              autoFocus
            />
          </label>
          {signUp && (
            <label className="field">
              <span>
                Display name <span className="optional">(optional)</span>
              </span>
              <input
                name="displayName"
                autoComplete="name"
                maxLength={Limits.displayNameMax}
                value={displayName}
                onChange={(e) => setDisplayName(e.target.value)}
              />
            </label>
          )}
          <label className="field">
            <span>Password</span>
            <input
              name="password"
              type="password"
              autoComplete={signUp ? 'new-password' : 'current-password'}
              required
              minLength={signUp ? Limits.passwordMin : 1}
              maxLength={Limits.passwordMax}
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
            {signUp && (
              <small className="hint">
                At least {Limits.passwordMin} characters, not a common password, and not containing your user name.
              </small>
            )}
          </label>
          {error && (
            <p className="form-error" id={`${id}-error`} role="alert">
              {error}
            </p>
          )}
          <button className="button primary wide" type="submit" disabled={busy}>
            {busy ? (signUp ? 'Creating account…' : 'Signing in…') : signUp ? 'Create account' : 'Sign in'}
          </button>
        </form>
        <p className="auth-switch">
          {signUp ? 'Already have an account?' : 'New to this team?'}{' '}
          <button type="button" className="link-button" onClick={() => switchMode(signUp ? 'sign-in' : 'sign-up')}>
            {signUp ? 'Sign in' : 'Create an account'}
          </button>
        </p>
      </div>
    </main>
  );
}
