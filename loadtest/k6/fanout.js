// k6 load test of the realtime path: followers connect to the gateway over Socket.IO,
// one author posts at a steady rate, and every follower records how long each post took
// to reach it. Run against a stack (npm start, or the compose edge):
//
//   k6 run -e BASE_URL=http://localhost:3000 -e FOLLOWERS=500 loadtest/k6/fanout.js
//
// Runs on k6 v0.48 and later. The stack must allow FOLLOWERS signups from one address
// (SIGNUP_LIMIT_PER_IP), and the machine running k6 shares the server's clock (the delay is
// measured against the notification's createdAt).
import { check, fail } from 'k6';
import http from 'k6/http';
import { Counter, Trend } from 'k6/metrics';
import { connectSocketIO } from './socketio.js';

const BASE_URL = __ENV.BASE_URL || 'http://localhost:3000';
const FOLLOWERS = Number(__ENV.FOLLOWERS || 200);
const DURATION_S = Number(__ENV.DURATION_S || 60);
const POST_EVERY_S = Number(__ENV.POST_EVERY_S || 2);

const delivery = new Trend('notification_delivery', true);
const received = new Counter('notifications_received');
const connectErrors = new Counter('socket_connect_errors');
const postLatency = new Trend('post_latency', true);

export const options = {
  scenarios: {
    followers: {
      executor: 'per-vu-iterations',
      exec: 'follower',
      vus: FOLLOWERS,
      iterations: 1,
      maxDuration: `${DURATION_S + 120}s`,
    },
    author: {
      executor: 'constant-arrival-rate',
      exec: 'author',
      rate: 1,
      timeUnit: `${POST_EVERY_S}s`,
      duration: `${DURATION_S}s`,
      startTime: '30s',
      preAllocatedVUs: 2,
    },
  },
  thresholds: {
    notification_delivery: ['p(99)<1000'],
    socket_connect_errors: ['count==0'],
    post_latency: ['p(99)<100'],
  },
};

const json = { headers: { 'content-type': 'application/json' } };

/** @param {string} tag */
function signup(tag) {
  const id = `${tag}${Date.now().toString(36)}${Math.floor(Math.random() * 1e6)}`;
  const res = http.post(
    `${BASE_URL}/api/v1/auth/signup`,
    JSON.stringify({ email: `${id}@k6.test`, password: `pw-${id}`, handle: id, displayName: id }),
    json,
  );
  if (res.status !== 201) fail(`signup answered ${res.status}: ${res.body}`);
  const body = /** @type {{ user: { id: string }, accessToken: string }} */ (res.json());
  return { id: body.user.id, token: body.accessToken };
}

/** @param {string} token */
const auth = (token) => ({
  headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
});

export function setup() {
  return { author: signup('author') };
}

/** @param {{ author: { id: string, token: string } }} data */
export function follower(data) {
  const me = signup('f');
  const res = http.put(`${BASE_URL}/api/v1/users/${data.author.id}/follow`, null, auth(me.token));
  check(res, { 'follow: 204': (r) => r.status === 204 });
  connectSocketIO(BASE_URL, me.token, {
    onConnect(client) {
      // Stay for the whole run, plus time for the last post to arrive.
      client.setTimeout(() => client.close(), (DURATION_S + 40) * 1000);
    },
    onConnectError(message) {
      connectErrors.add(1, { message });
    },
    onEvent(event, payload) {
      if (event !== 'notification') return;
      const n = /** @type {{ type: string, createdAt: string }} */ (payload);
      if (n.type !== 'post') return;
      received.add(1);
      delivery.add(Date.now() - Date.parse(n.createdAt));
    },
  });
}

/** @param {{ author: { id: string, token: string } }} data */
export function author(data) {
  const res = http.post(
    `${BASE_URL}/api/v1/posts`,
    JSON.stringify({ kind: 'wild', body: 'k6 sighting', location: { lat: 38.72, lng: -9.14 } }),
    auth(data.author.token),
  );
  check(res, { 'post: 201': (r) => r.status === 201 });
  postLatency.add(res.timings.duration);
}
