import { useState } from 'preact/hooks';
import { ApiError, apiGet, type Site } from '../api.js';

/** Sign-in with an API key (or the ADMIN_TOKEN): checked against GET /v1/sites before it is kept. */
export function SignIn({
  onSignedIn,
  notice,
}: {
  onSignedIn: (key: string, remember: boolean) => void;
  notice?: string;
}) {
  const [error, setError] = useState<string | undefined>(notice);
  const [busy, setBusy] = useState(false);
  return (
    <main class="sign-in">
      <h1>Sightline</h1>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          const data = new FormData(e.currentTarget);
          const key = String(data.get('key') ?? '').trim();
          if (!key) {
            setError('Paste an API key (sl_…) or the admin token.');
            return;
          }
          setBusy(true);
          try {
            await apiGet<{ sites: Site[] }>(key, '/v1/sites');
            onSignedIn(key, data.get('remember') === 'on');
          } catch (err) {
            setError(err instanceof ApiError ? err.message : String(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        <label for="key">API key</label>
        <input
          id="key"
          name="key"
          type="password"
          autocomplete="off"
          spellcheck={false}
          placeholder="sl_…"
          aria-describedby="key-help"
          aria-invalid={error ? true : undefined}
        />
        <p id="key-help" class="muted">
          A read key for your sites, or the admin token for every site. An admin makes keys with{' '}
          <code>POST /v1/admin/keys</code>.
        </p>
        <label class="check">
          <input type="checkbox" name="remember" /> Keep me signed in on this device
        </label>
        {error && (
          <p class="status error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="button primary" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
