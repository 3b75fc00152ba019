// k6 load test of the realtime path: FOLLOWERS followers listen on Socket.IO, one author
// posts at a steady arrival rate, and every follower records how long each post took to
// reach it and which posts never did. Run against a stack, e.g. `npm run cluster`:
//
//   SIGNUP_LIMIT_PER_IP=100000 npm run cluster        # in one terminal
//   k6 run -e BASE_URL=http://localhost:8080 -e FOLLOWERS=1000 loadtest/k6/fanout.js
//
// Runs on k6 v0.48 and later. Phases, so the test measures the fan-out and nothing else:
//
//   1. setup(): the author and every follower sign up (password hashing is slow on
//      purpose, ~40 s for 1,000 at the default cost on two cores, so it is done here,
//      before anything is measured). The stack must allow that many signups from one
//      address: SIGNUP_LIMIT_PER_IP.
//   2. followers: each connects, then follows the author; the follow is the barrier.
//   3. author: posting starts only once the author's followerCount says every follower
//      is connected and following; then one post every 1/POSTS_PER_S s for DURATION_S.
//   4. each follower, at the end, lists the author's posts and counts those that never
//      reached it (`notifications_missing`, which must stay 0).
//
// Delays are measured against the notification's createdAt, so k6 and the stack share a
// clock (same machine, or NTP).
import { check, fail, sleep } from 'k6';
import exec from 'k6/execution';
import http from 'k6/http';
import { Counter, Trend } from 'k6/metrics';
import { connectSocketIO } from './socketio.js';

const BASE_URL = __ENV.BASE_URL || 'http://localhost:8080';
const FOLLOWERS = Number(__ENV.FOLLOWERS || 1000);
const POSTS_PER_S = Number(__ENV.POSTS_PER_S || 2);
const DURATION_S = Number(__ENV.DURATION_S || 60);
/** When posting may start at the earliest; the barrier holds it until all are in. */
const CONNECT_S = Number(__ENV.CONNECT_S || 20);
/** How long the author waits at the barrier before giving up. */
const BARRIER_S = Number(__ENV.BARRIER_S || 120);
/** Followers stay this long after the author's scenario ends, for the last post to arrive. */
const GRACE_S = 10;
/** An author iteration still running when its scenario ends gets this long. */
const AUTHOR_STOP_S = 5;

const delivery = new Trend('notification_delivery', true);
const received = new Counter('notifications_received');
const missing = new Counter('notifications_missing');
const connectErrors = new Counter('socket_connect_errors');
const postLatency = new Trend('post_latency', true);

export const options = {
  setupTimeout: '10m',
  scenarios: {
    followers: {
      executor: 'per-vu-iterations',
      exec: 'follower',
      vus: FOLLOWERS,
      iterations: 1,
      maxDuration: `${CONNECT_S + DURATION_S + AUTHOR_STOP_S + GRACE_S + 60}s`,
    },
    author: {
      executor: 'constant-arrival-rate',
      exec: 'author',
      rate: POSTS_PER_S,
      timeUnit: '1s',
      duration: `${DURATION_S}s`,
      startTime: `${CONNECT_S}s`,
      preAllocatedVUs: 4,
      maxVUs: 20,
      gracefulStop: `${AUTHOR_STOP_S}s`,
    },
  },
  thresholds: {
    notification_delivery: ['p(95)<200', 'p(99)<250'],
    notifications_missing: ['count==0'],
    notifications_received: ['count>0'],
    socket_connect_errors: ['count==0'],
    post_latency: ['p(99)<250'],
    checks: ['rate==1'],
  },
};

const json = { headers: { 'content-type': 'application/json' } };

/** @param {string} token */
const auth = (token) => ({
  headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
});

/** @param {string} id */
function signupRequest(id) {
  return {
    method: 'POST',
    url: `${BASE_URL}/api/v1/auth/signup`,
    body: JSON.stringify({
      email: `${id}@k6.test`,
      password: `pw-${id}-k6`,
      handle: id,
      displayName: id,
    }),
    params: json,
  };
}

/** @param {import('k6/http').RefinedResponse<any>} res */
function account(res) {
  if (res.status !== 201) fail(`signup answered ${res.status}: ${res.body}`);
  const body = /** @type {{ user: { id: string }, accessToken: string }} */ (res.json());
  return { id: body.user.id, token: body.accessToken };
}

export function setup() {
  const run = `k${Date.now().toString(36)}`;
  const author = account(http.batch([signupRequest(`${run}a`)])[0]);
  /** @type {string[]} */
  const tokens = [];
  // Fifty at a time: the stack hashes passwords on a small thread pool.
  for (let i = 0; i < FOLLOWERS; i += 50) {
    const batch = [];
    for (let j = i; j < Math.min(i + 50, FOLLOWERS); j++) batch.push(signupRequest(`${run}f${j}`));
    for (const res of http.batch(batch)) tokens.push(account(res).token);
  }
  return { author, tokens, startedAt: Date.now() };
}

/**
 * @typedef {{ author: { id: string, token: string }, tokens: string[], startedAt: number }} Data
 */

/** Every post the author made during the run (the author is new each run). @param {Data} data */
function authorPosts(data) {
  /** @type {string[]} */
  const ids = [];
  let cursor = '';
  for (;;) {
    const res = http.get(
      `${BASE_URL}/api/v1/users/${data.author.id}/posts?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      auth(data.author.token),
    );
    if (res.status !== 200) fail(`listing the author's posts answered ${res.status}`);
    const page = /** @type {{ items: Array<{ id: string }>, nextCursor: string | null }} */ (
      res.json()
    );
    for (const p of page.items) ids.push(p.id);
    if (!page.nextCursor) return ids;
    cursor = page.nextCursor;
  }
}

/** @param {Data} data */
export function follower(data) {
  // One iteration per follower VU: its number in the scenario picks its account.
  const token = data.tokens[exec.scenario.iterationInTest];
  if (!token) fail(`no account for follower ${exec.scenario.iterationInTest}`);
  /** @type {Set<string>} */
  const heard = new Set();
  // Everyone stays until the author's scenario is over and its last post has had time to
  // arrive (a barrier that held the author up only means fewer posts, never later ones).
  const leaveAt = data.startedAt + (CONNECT_S + DURATION_S + AUTHOR_STOP_S + GRACE_S) * 1000;
  connectSocketIO(BASE_URL, token, {
    onConnect(client) {
      // Online first, then following: the author's barrier counts followers.
      const res = http.put(`${BASE_URL}/api/v1/users/${data.author.id}/follow`, null, auth(token));
      check(res, { 'follow: 204': (r) => r.status === 204 });
      client.setTimeout(() => client.close(), Math.max(1000, leaveAt - Date.now()));
    },
    onConnectError(message) {
      connectErrors.add(1, { message });
    },
    onEvent(event, payload) {
      if (event !== 'notification') return;
      const n = /** @type {{ type: string, postId: string, createdAt: string }} */ (payload);
      // Pushes are at least once: count each post once.
      if (n.type !== 'post' || heard.has(n.postId)) return;
      heard.add(n.postId);
      received.add(1);
      delivery.add(Date.now() - Date.parse(n.createdAt));
    },
  });
  const posts = authorPosts(data);
  const lost = posts.filter((id) => !heard.has(id)).length;
  missing.add(lost);
  check(lost, { 'every post arrived': (n) => n === 0 });
}

let barrierPassed = false;

/** @param {Data} data */
export function author(data) {
  if (!barrierPassed) {
    const deadline = Date.now() + BARRIER_S * 1000;
    for (;;) {
      const res = http.get(`${BASE_URL}/api/v1/users/${data.author.id}`, auth(data.author.token));
      const count = res.status === 200 ? Number(res.json('followerCount')) : -1;
      if (count >= FOLLOWERS) break;
      if (Date.now() > deadline)
        fail(`only ${count} of ${FOLLOWERS} followers after ${BARRIER_S} s`);
      sleep(0.5);
    }
    barrierPassed = true;
  }
  const res = http.post(
    `${BASE_URL}/api/v1/posts`,
    JSON.stringify({ kind: 'wild', body: 'k6 sighting', location: { lat: 38.72, lng: -9.14 } }),
    auth(data.author.token),
  );
  check(res, { 'post: 201': (r) => r.status === 201 });
  postLatency.add(res.timings.duration);
}
