#!/usr/bin/env bash
# The README's tour of the API, as one script that runs against a started node:
#
#   npm start                 # in another terminal
#   docs/tour.sh              # or: API=http://host:port/api/v1 docs/tour.sh
#
# Needs curl and jq. Every call states the status it expects; any other status stops the
# script with the response body (test/first-steps.test.ts runs it, so it cannot drift).
# Each run signs up two fresh users (Ada and Bob), so it can run again on the same database.
# PHOTO=path/to/image.jpg uploads that photo; by default a small generated JPEG is used.
set -euo pipefail

API=${API:-http://localhost:3000/api/v1}
RUN=${TOUR_RUN:-$(date +%s)$RANDOM}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
command -v jq >/dev/null || {
  echo "tour.sh needs jq (apt-get install jq, brew install jq)" >&2
  exit 1
}

# call EXPECTED METHOD PATH [curl options…]: prints the response body; stops unless the
# status is EXPECTED.
call() {
  local expected=$1 method=$2 path=$3 status
  shift 3
  status=$(curl -sS -o "$WORK/body" -w '%{http_code}' -X "$method" "$API$path" "$@")
  if [ "$status" != "$expected" ]; then
    echo "tour: $method $path answered $status, expected $expected:" >&2
    cat "$WORK/body" >&2
    echo >&2
    exit 1
  fi
  cat "$WORK/body"
}
json=(-H 'content-type: application/json')
step() { printf '\n== %s\n' "$*" >&2; }

## Accounts and sessions ------------------------------------------------------------------

step "Sign up: 201 {user, accessToken, refreshToken, expiresIn}; 409 if the email or handle is taken"
ADA_EMAIL="ada+$RUN@example.com"
call 201 POST /auth/signup "${json[@]}" \
  -d "{\"email\":\"$ADA_EMAIL\",\"password\":\"correct horse battery staple\",\"handle\":\"Ada_$RUN\",\"displayName\":\"Ada\"}" |
  jq '{user: {handle: .user.handle}, expiresIn}' >&2
call 409 POST /auth/signup "${json[@]}" \
  -d "{\"email\":\"$ADA_EMAIL\",\"password\":\"correct horse battery staple\",\"handle\":\"Ada_$RUN\",\"displayName\":\"Ada\"}" >/dev/null

step "Log in: 200 {user, accessToken, refreshToken, expiresIn}; 401 on bad credentials"
call 200 POST /auth/login "${json[@]}" \
  -d "{\"email\":\"$ADA_EMAIL\",\"password\":\"correct horse battery staple\"}" >"$WORK/login.json"
ACCESS=$(jq -r .accessToken "$WORK/login.json")
REFRESH=$(jq -r .refreshToken "$WORK/login.json")
call 401 POST /auth/login "${json[@]}" -d "{\"email\":\"$ADA_EMAIL\",\"password\":\"wrong\"}" >/dev/null

step "Who am I: 200 {id, handle, displayName, bio, createdAt, followerCount, followingCount, postCount, email}"
call 200 GET /me -H "authorization: Bearer $ACCESS" | jq -c . >&2

step "Change display name or bio: 200 user"
call 200 PATCH /me -H "authorization: Bearer $ACCESS" "${json[@]}" \
  -d '{"bio":"I photograph the strays of my street."}' | jq -c '{bio}' >&2

step "Refresh: 200 {accessToken, refreshToken, expiresIn}; the old refresh token is now spent"
call 200 POST /auth/refresh "${json[@]}" -d "{\"refreshToken\":\"$REFRESH\"}" >"$WORK/refresh.json"
ACCESS=$(jq -r .accessToken "$WORK/refresh.json")
REFRESH=$(jq -r .refreshToken "$WORK/refresh.json")

step "Log out: 204; the session ends, and its access tokens stop working at once (401)"
call 204 POST /auth/logout "${json[@]}" -d "{\"refreshToken\":\"$REFRESH\"}"
call 401 GET /me -H "authorization: Bearer $ACCESS" >&2

step "Log in again: ACCESS is Ada's token from here on"
ACCESS=$(call 200 POST /auth/login "${json[@]}" \
  -d "{\"email\":\"$ADA_EMAIL\",\"password\":\"correct horse battery staple\"}" | jq -r .accessToken)

## Social graph and board -----------------------------------------------------------------

step "A second user, Bob: BOB is his access token, BOB_ID his id"
call 201 POST /auth/signup "${json[@]}" \
  -d "{\"email\":\"bob+$RUN@example.com\",\"password\":\"another long passphrase\",\"handle\":\"bob_$RUN\",\"displayName\":\"Bob\"}" \
  >"$WORK/bob.json"
BOB=$(jq -r .accessToken "$WORK/bob.json")
BOB_ID=$(jq -r .user.id "$WORK/bob.json")
ADA_ID=$(call 200 GET /me -H "authorization: Bearer $ACCESS" | jq -r .id)

step "Ada follows Bob: 204, idempotent; following yourself is 400"
call 204 PUT "/users/$BOB_ID/follow" -H "authorization: Bearer $ACCESS"
call 204 PUT "/users/$BOB_ID/follow" -H "authorization: Bearer $ACCESS"
call 400 PUT "/users/$ADA_ID/follow" -H "authorization: Bearer $ACCESS" >/dev/null

step "Bob posts a located sighting: 201 post; the same clientId again returns the first post (200)"
SIGHTING='{"kind":"stray","body":"Ginger tom on the steps again","species":"Felis catus",
  "location":{"lat":38.7223,"lng":-9.1393,"accuracyM":15},"geoprivacy":"obscured",
  "clientId":"bob-phone-0001"}'
POST_ID=$(call 201 POST /posts -H "authorization: Bearer $BOB" "${json[@]}" -d "$SIGHTING" | jq -r .id)
AGAIN=$(call 200 POST /posts -H "authorization: Bearer $BOB" "${json[@]}" -d "$SIGHTING" | jq -r .id)
[ "$AGAIN" = "$POST_ID" ] || { echo "tour: a repeated clientId made a second post" >&2; exit 1; }

step "Ada's feed: {items, nextCursor}, with Bob's post; its location is obscured for her"
call 200 GET /feed -H "authorization: Bearer $ACCESS" |
  jq -e --arg id "$POST_ID" '.items[] | select(.id == $id) | {id, location, cell}' >&2

step "Nearby: posts near a point, nearest cells first"
call 200 GET "/posts/nearby?lat=38.72&lng=-9.14&radiusKm=10" -H "authorization: Bearer $ACCESS" |
  jq -e --arg id "$POST_ID" '[.items[].id] | index($id) != null' >/dev/null

step "Comment (201) and like (204, idempotent)"
call 201 POST "/posts/$POST_ID/comments" -H "authorization: Bearer $ACCESS" "${json[@]}" \
  -d '{"body":"Such a handsome cat"}' | jq -c '{id, body}' >&2
call 200 GET "/posts/$POST_ID/comments" -H "authorization: Bearer $ACCESS" | jq -e '.items | length == 1' >/dev/null
call 204 PUT "/posts/$POST_ID/like" -H "authorization: Bearer $ACCESS"
call 200 GET "/posts/$POST_ID" -H "authorization: Bearer $ACCESS" |
  jq -e '.likeCount == 1 and .likedByMe and .commentCount == 1' >/dev/null

step "Bob's followers: Ada"
call 200 GET "/users/$BOB_ID/followers" -H "authorization: Bearer $ACCESS" |
  jq -e --arg id "$ADA_ID" '[.items[].id] | index($id) != null' >/dev/null

## Photos ---------------------------------------------------------------------------------

PHOTO=${PHOTO:-}
if [ -z "$PHOTO" ]; then
  # A 64×48 JPEG, so the tour needs no file of yours.
  PHOTO="$WORK/IMG_0001.jpg"
  base64 -d >"$PHOTO" <<'JPEG'
/9j/2wBDAA0JCgsKCA0LCgsODg0PEyAVExISEyccHhcgLikxMC4pLSwzOko+MzZGNywtQFdBRkxOUlNSMj5aYVpQYEpRUk//2wBD
AQ4ODhMREyYVFSZPNS01T09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT0//wAARCAAwAEAD
ASIAAhEBAxEB/8QAFQABAQAAAAAAAAAAAAAAAAAAAAP/xAAUEAEAAAAAAAAAAAAAAAAAAAAA/8QAFQEBAQAAAAAAAAAAAAAAAAAA
AAX/xAAUEQEAAAAAAAAAAAAAAAAAAAAA/9oADAMBAAIRAxEAPwCgCCtgAAAAAAAAAAAAAAAAAAAAAP/Z
JPEG
fi

step "Direct upload (multipart field \"file\", JPEG/PNG/WebP, at most 10 MiB): 201 photo"
call 201 POST /photos -H "authorization: Bearer $ACCESS" -F "file=@$PHOTO;type=image/jpeg" >"$WORK/photo.json"
PHOTO_ID=$(jq -r .id "$WORK/photo.json")
jq -c . "$WORK/photo.json" >&2

step "Attach it to a sighting: 201 post"
call 201 POST /posts -H "authorization: Bearer $ACCESS" "${json[@]}" \
  -d "{\"kind\":\"wild\",\"body\":\"Hedgehog in the garden\",\"photoIds\":[\"$PHOTO_ID\"]}" |
  jq -e --arg id "$PHOTO_ID" '.photos[0].id == $id' >/dev/null

step "Open its three URLs: WebP variants"
for url in $(jq -r '.urls[]' "$WORK/photo.json"); do
  [ "$(curl -sS --fail-with-body -o /dev/null -w '%{content_type}' "$url")" = image/webp ]
done

step "Or upload straight to storage: a presigned PUT (201 ticket), then complete (200 photo)"
call 201 POST /photos/uploads -H "authorization: Bearer $ACCESS" "${json[@]}" \
  -d "{\"contentType\":\"image/jpeg\",\"size\":$(wc -c <"$PHOTO")}" >"$WORK/ticket.json"
headers=()
while IFS= read -r header; do headers+=(-H "$header"); done \
  < <(jq -r '.headers | to_entries[] | "\(.key): \(.value)"' "$WORK/ticket.json")
curl -sS --fail-with-body -o /dev/null -X PUT "$(jq -r .uploadUrl "$WORK/ticket.json")" \
  "${headers[@]}" --data-binary "@$PHOTO"
call 200 POST "/photos/$(jq -r .photoId "$WORK/ticket.json")/complete" -H "authorization: Bearer $ACCESS" |
  jq -c '{id, width, height}' >&2

printf '\ntour: every step answered as documented\n' >&2
