// The live animal map, in the browser. Bundled by esbuild from this file (see
// server/routes/viewer.ts); it shares the contract module and the client helper with the
// server and the tests. This file holds the page's two states: the account form, and the
// map while signed in (live-map.ts).
import { setUpAccountForm, signOut } from './accounts.ts';
import { showConnection, startLiveMap } from './live-map.ts';
import { createSession, SessionEnded, STORAGE_KEYS } from './session.ts';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

// The token pair lives in sessionStorage (this tab only); see session.ts.
const session = createSession({
  storage: sessionStorage,
  fetch: (url, init) => fetch(url, init),
});

/** The running map, while signed in. */
let running: { stop(): void } | undefined;

const SESSION_ENDED = 'Your session has ended. Please sign in again.';

/** Back to the account form, on top, with the reason: the map and its socket are gone. */
function showSignIn(message = '') {
  running?.stop();
  running = undefined;
  $('map').hidden = true;
  $('viewer').hidden = true;
  $('signout').hidden = true;
  $('signin').hidden = false;
  $('signin-message').textContent = message;
  $<HTMLFormElement>('signin').querySelector<HTMLInputElement>('input[name=password]')!.value = '';
  $('summary').textContent = '';
  showConnection('signed-out');
  $<HTMLInputElement>('signin-email').focus();
}

function start() {
  running?.stop();
  $('signin').hidden = true;
  $('signin-message').textContent = '';
  $('viewer').hidden = false;
  $('map').hidden = false;
  $('signout').hidden = false;
  let ended = false;
  running = startLiveMap({
    session,
    ended: () => {
      if (ended) return;
      ended = true;
      showSignIn(SESSION_ENDED);
    },
  });
}

setUpAccountForm({
  session,
  signedIn: start,
  status: (text) => {
    $('status').textContent = text;
  },
});

$('signout').addEventListener('click', () => {
  const refreshToken = sessionStorage.getItem(STORAGE_KEYS.refresh);
  showSignIn();
  void signOut(session, refreshToken);
});

// Resume the session of this tab (a reload): refresh first if the access token ran out
// meanwhile, so the map never starts on a dead token.
if (session.hasSession()) {
  $('status').textContent = 'resuming session…';
  session.validToken().then(
    () => start(),
    (err: unknown) => {
      if (err instanceof SessionEnded) showSignIn(SESSION_ENDED);
      // Offline or the server unavailable: start anyway, the client retries.
      else start();
    },
  );
} else {
  showSignIn();
}
