// Signing in, signing up and out, on the page's one account form.
import type { TokenPair, ViewerSession } from './session.ts';

declare global {
  interface Window {
    UNIMAL_MAP: {
      tileUrl: string;
      attribution: string;
      demo: { email: string; password: string } | null;
    };
  }
}

type Mode = 'signin' | 'signup';

interface ErrorBody {
  error?: {
    message?: string;
    details?: { fields?: Array<{ field: string; message: string }> };
  };
}

/** The server's message, with each refused field named (signup's validation says which). */
function messageOf(body: ErrorBody, status: number, what: string): string {
  const fields = body.error?.details?.fields ?? [];
  if (fields.length > 0) return fields.map((f) => `${f.field}: ${f.message}`).join('; ');
  return body.error?.message ?? `${what} failed (${status})`;
}

async function post(path: string, payload: unknown, what: string): Promise<TokenPair> {
  const res = await fetch(`/api/v1/auth/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  });
  const body = (await res.json().catch(() => ({}))) as Partial<TokenPair> & ErrorBody;
  if (!res.ok || !body.accessToken || !body.refreshToken) {
    throw new Error(messageOf(body, res.status, what));
  }
  return { accessToken: body.accessToken, refreshToken: body.refreshToken };
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const form = () => $<HTMLFormElement>('signin');

function setMode(mode: Mode) {
  const f = form();
  f.dataset.mode = mode;
  for (const tab of f.querySelectorAll<HTMLButtonElement>('.tabs button')) {
    tab.setAttribute('aria-selected', String(tab.dataset.mode === mode));
  }
  // Hidden fields must not block the submission.
  for (const input of f.querySelectorAll<HTMLInputElement>('.signup-only input')) {
    input.disabled = mode !== 'signup';
  }
  const password = f.querySelector<HTMLInputElement>('input[name=password]')!;
  password.autocomplete = mode === 'signup' ? 'new-password' : 'current-password';
  $('signin-title').textContent =
    mode === 'signup' ? 'Create an account to watch the map' : 'Sign in to watch the map';
  $('signin-submit').textContent = mode === 'signup' ? 'Create account' : 'Sign in';
  $('signin-message').textContent = '';
}

/**
 * Wires the form: its two modes, the demo hint (development servers only), and submission,
 * which saves the new token pair in `session` and calls `signedIn`.
 */
export function setUpAccountForm(options: {
  session: ViewerSession;
  signedIn(): void;
  status(text: string): void;
}) {
  const f = form();
  for (const tab of f.querySelectorAll<HTMLButtonElement>('.tabs button')) {
    tab.addEventListener('click', () => setMode(tab.dataset.mode as Mode));
  }
  setMode('signin');
  const demo = window.UNIMAL_MAP.demo;
  if (demo) {
    $('demo-hint').hidden = false;
    $('demo-email').textContent = demo.email;
    $('demo-password').textContent = demo.password;
    $('demo-fill').addEventListener('click', () => {
      setMode('signin');
      f.querySelector<HTMLInputElement>('input[name=email]')!.value = demo.email;
      f.querySelector<HTMLInputElement>('input[name=password]')!.value = demo.password;
    });
  }
  f.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!f.reportValidity()) return;
    const data = new FormData(f);
    const field = (name: string) => String(data.get(name) ?? '');
    const signup = f.dataset.mode === 'signup';
    try {
      options.status(signup ? 'creating your account…' : 'signing in…');
      $('signin-message').textContent = '';
      const pair = signup
        ? await post(
            'signup',
            {
              email: field('email'),
              password: field('password'),
              handle: field('handle'),
              displayName: field('displayName'),
            },
            'sign-up',
          )
        : await post('login', { email: field('email'), password: field('password') }, 'sign-in');
      options.session.save(pair);
      options.signedIn();
    } catch (err) {
      options.status('signed out');
      $('signin-message').textContent = (err as Error).message;
    }
  });
}

/** Ends the session on the server (its refresh token family) and here. */
export async function signOut(session: ViewerSession, refreshToken: string | null) {
  session.clear();
  if (!refreshToken) return;
  await fetch('/api/v1/auth/logout', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ refreshToken }),
  }).catch(() => {
    // Offline: the tokens are gone from this tab; the refresh token expires on its own.
  });
}
