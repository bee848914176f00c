#!/usr/bin/env bash
# civico as an OpenID Connect provider for a stock relying party: oauth2-proxy
# (v7.15.6, built from the Go module proxy) guards a test page (bench/hello)
# and logs a demo resident in through `civico demo` with the demo smart card,
# driven by curl with one cookie jar:
#   proxy / -> provider's authorize endpoint (-> /oidc/accedi?id=...) ->
#   /accedi?next=... -> card login over TLS (/login/crs) -> back through the
#   provider (/oidc/accedi, /oidc/authorize/callback) -> proxy's
#   /oauth2/callback (code + PKCE S256 + nonce) -> the test page.
# Usage: scripts/ci/oauth2-proxy.sh [CIVICO_BINARY]
# (without an argument it builds ./cmd/civico). Needs Go and curl. oauth2-proxy
# is built once (about 45 s on 2 cores) and cached in
# ~/.cache/civico-ci/oauth2-proxy-v7.15.6 (CIVICO_TOOLS_CACHE, see lib.sh).
# shellcheck source=scripts/ci/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" oauth2-proxy.sh

OAUTH2_PROXY_VERSION=v7.15.6
OAUTH2_PROXY_MODULE=github.com/oauth2-proxy/oauth2-proxy/v7
[[ -d cmd/civico && -d bench/hello ]] || fail "no cmd/civico and bench/hello in $ci_root"

demo_pid=""
hello_pid=""
proxy_pid=""
stop_all() {
  stop_pid "$proxy_pid"
  stop_pid "$hello_pid"
  stop_pid "$demo_pid"
}
on_exit stop_all

# json_str KEY prints the string value of "KEY" in the JSON on stdin (flat objects as
# civico and oauth2-proxy write them; enough here, and no jq or python needed).
json_str() {
  sed -n 's/.*"'"$1"'"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' | head -n 1
}

# query_param NAME URL prints the first value of NAME in URL's query, still percent-encoded.
query_param() {
  local name=$1 url=$2 q kv
  local -a kvs
  [[ "$url" == *\?* ]] || return 0
  q=${url#*\?}
  q=${q%%#*}
  IFS='&' read -r -a kvs <<<"$q"
  for kv in "${kvs[@]}"; do
    if [[ "$kv" == "$name="* ]]; then
      printf '%s' "${kv#"$name="}"
      return 0
    fi
  done
}

# urldecode S decodes percent-escapes and + (query-component encoding).
urldecode() {
  local s=${1//+/ }
  printf '%b' "${s//%/\\x}"
}

logs_tail() {
  if [[ -s "$tmp/oauth2-proxy.log" ]]; then
    echo "---- last lines of the oauth2-proxy log ----" >&2
    tail -n 30 "$tmp/oauth2-proxy.log" | cut -c1-400 >&2 || true
  fi
  if [[ -s "$tmp/demo.log" ]]; then
    echo "---- last lines of the civico demo log ----" >&2
    tail -n 30 "$tmp/demo.log" | cut -c1-400 >&2 || true
  fi
}

# ---------------------------------------------------------------------------------------------
header "prerequisites"
ensure_commands curl=curl

# ---------------------------------------------------------------------------------------------
header "build oauth2-proxy $OAUTH2_PROXY_VERSION"
o2p_dir=$ci_cache/oauth2-proxy-$OAUTH2_PROXY_VERSION
o2p="$o2p_dir/oauth2-proxy"
if [[ -x "$o2p" ]] && "$o2p" --version >/dev/null 2>&1; then
  echo "cached: $o2p"
else
  build_start=$SECONDS
  # Into a scratch GOBIN first, so that an interrupted build leaves no half-written binary in the cache.
  go_outside env CGO_ENABLED=0 GOBIN="$tmp/o2p-bin" \
    go install -trimpath -ldflags "-s -w -X $OAUTH2_PROXY_MODULE/pkg/version.VERSION=$OAUTH2_PROXY_VERSION" \
    "$OAUTH2_PROXY_MODULE@$OAUTH2_PROXY_VERSION" >"$tmp/o2p-build.log" 2>&1 ||
    {
      tail -n 20 "$tmp/o2p-build.log" >&2
      fail "go install $OAUTH2_PROXY_MODULE@$OAUTH2_PROXY_VERSION failed (above)" "the Go module proxy must be reachable (GOPROXY=$(go env GOPROXY))"
    }
  mkdir -p "$o2p_dir"
  mv -f "$tmp/o2p-bin/oauth2-proxy" "$o2p"
  echo "built in $((SECONDS - build_start)) s: $o2p"
fi
echo "$("$o2p" --version 2>&1 | head -n 1) ($(du -h "$o2p" | cut -f1))"

# ---------------------------------------------------------------------------------------------
header "build civico and the test page"
civico=${1:-}
if [[ -z "$civico" ]]; then
  civico="$tmp/civico"
  CGO_ENABLED=0 go build -o "$civico" ./cmd/civico || fail "go build ./cmd/civico failed (above)"
fi
[[ -x "$civico" ]] || fail "$civico is not an executable: pass the civico binary as the first argument, or none to build it"
echo "civico: $civico ($("$civico" version </dev/null 2>&1 | head -n 1))"
CGO_ENABLED=0 go build -o "$tmp/hello" ./bench/hello || fail "go build ./bench/hello failed (above)"
echo "test page: bench/hello"

# ---------------------------------------------------------------------------------------------
header "civico demo"
datadir="$tmp/data"
mkdir -p "$datadir"
# All picked now (the client's redirect URI names the proxy's port); each is checked again right
# before what listens on it starts. The demo's metrics listener gets one too (by default it
# would take the portal's port + 2, unchecked).
portal_port=$(free_port)
partecipa_port=$(free_port)
tls_port=$(free_port)
metrics_port=$(free_port)
hello_port=$(free_port)
proxy_port=$(free_port)
portal="http://127.0.0.1:$portal_port"
tls="https://127.0.0.1:$tls_port"
hello="http://127.0.0.1:$hello_port"
proxy="http://127.0.0.1:$proxy_port"
demo_log="$tmp/demo.log"

check_ports_free portal="$portal_port" partecipa="$partecipa_port" tls="$tls_port" metrics="$metrics_port"
env -u CIVICO_TEST_POSTGRES_URL CIVICO_DATA_DIR="$datadir" CIVICO_DATABASE_URL="" \
  CIVICO_ADDR="127.0.0.1:$portal_port" CIVICO_PARTECIPA_ADDR="127.0.0.1:$partecipa_port" CIVICO_TLS_ADDR="127.0.0.1:$tls_port" \
  CIVICO_METRICS_ADDR="127.0.0.1:$metrics_port" "$civico" demo </dev/null >"$demo_log" 2>&1 &
demo_pid=$!
echo "civico demo started (pid $demo_pid): portal $portal, TLS $tls"

demo_fail() {
  logs_tail
  fail "$@"
}

wait_healthy "$portal/healthz" "$demo_pid" "civico demo" || demo_fail "$wait_error"

# The issuer is the portal's base URL; oauth2-proxy compares it with the discovered one byte for byte.
discovery=$(curl -sS --max-time 10 -w '\n%{http_code}' "$portal/.well-known/openid-configuration") ||
  demo_fail "GET $portal/.well-known/openid-configuration failed"
code=${discovery##*$'\n'}
discovery=${discovery%$'\n'*}
[[ "$code" == 200 ]] || demo_fail "GET /.well-known/openid-configuration answered $code, want 200 (the provider's discovery document)"
issuer=$(json_str issuer <<<"$discovery")
authorize_url=$(json_str authorization_endpoint <<<"$discovery")
[[ "$issuer" == "$portal" ]] ||
  demo_fail "the discovery document says issuer \"$issuer\", want \"$portal\" (the portal's base URL, no trailing slash)" "$discovery"
[[ -n "$authorize_url" && -n "$(json_str token_endpoint <<<"$discovery")" && -n "$(json_str jwks_uri <<<"$discovery")" ]] ||
  demo_fail "the discovery document lacks authorization_endpoint, token_endpoint or jwks_uri" "$discovery"
grep -q '"S256"' <<<"$discovery" ||
  demo_fail "the discovery document does not list S256 in code_challenge_methods_supported" "$discovery"
echo "discovery: issuer $issuer, authorize at $authorize_url"

# ---------------------------------------------------------------------------------------------
header "register oauth2-proxy as a client (civico oidc client add)"
reg_status=0
env -u CIVICO_TEST_POSTGRES_URL CIVICO_DATA_DIR="$datadir" CIVICO_DATABASE_URL="" \
  "$civico" oidc client add --name "oauth2-proxy test page" --redirect-uri "$proxy/oauth2/callback" --first-party \
  </dev/null >"$tmp/client.txt" 2>"$tmp/client.err" || reg_status=$?
if ((reg_status != 0)); then
  cat "$tmp/client.txt" "$tmp/client.err" >&2
  demo_fail "civico oidc client add exited with status $reg_status (output above)"
fi
client_id=$(sed -n 's/^client_id:[[:space:]]*//p' "$tmp/client.txt" | head -n 1 | tr -d '[:space:]')
client_secret=$(sed -n 's/^client_secret:[[:space:]]*//p' "$tmp/client.txt" | head -n 1 | tr -d '[:space:]')
if [[ -z "$client_id" || -z "$client_secret" ]]; then
  sed 's/^\(client_secret:\).*/\1 .../' "$tmp/client.txt" >&2
  demo_fail "civico oidc client add did not print the lines 'client_id: <id>' and 'client_secret: <secret>' (output above, secret elided)"
fi
echo "client_id: $client_id (redirect URI $proxy/oauth2/callback)"

# ---------------------------------------------------------------------------------------------
header "start the test page and oauth2-proxy"
check_ports_free "test page"="$hello_port"
"$tmp/hello" -addr "127.0.0.1:$hello_port" </dev/null >"$tmp/hello.log" 2>&1 &
hello_pid=$!
for ((i = 0; i < 50; i++)); do
  [[ "$(status_of "$hello/" --max-time 2)" == 200 ]] && break
  kill -0 "$hello_pid" 2>/dev/null || { cat "$tmp/hello.log" >&2; fail "the test page (bench/hello) exited (log above)"; }
  sleep 0.1
done
[[ "$(curl -sS --max-time 5 "$hello/" || true)" == "hello, world" ]] ||
  { cat "$tmp/hello.log" >&2; fail "the test page did not answer 'hello, world' on $hello/"; }
echo "test page: $hello/ answers hello, world"

# The secrets go in files, written without a newline: oauth2-proxy reads both files as they are.
# The cookie secret must be 16, 24 or 32 bytes, raw or in unpadded/padded base64url (not
# standard base64: a secret with + or / would count as its 44 characters and be refused).
printf '%s' "$client_secret" >"$tmp/client-secret"
head -c 32 /dev/urandom | base64 -w 0 | tr '+/' '-_' | tr -d '=' >"$tmp/cookie-secret"
chmod 600 "$tmp/client-secret" "$tmp/cookie-secret"
proxy_flags=(
  --provider=oidc
  --provider-display-name=civico
  --oidc-issuer-url="$portal"
  --client-id="$client_id"
  --client-secret-file="$tmp/client-secret"
  --redirect-url="$proxy/oauth2/callback"
  --http-address="127.0.0.1:$proxy_port"
  --upstream="$hello/"
  --cookie-secret-file="$tmp/cookie-secret"
  --cookie-secure=false
  --code-challenge-method=S256
  --insecure-oidc-skip-nonce=false
  --scope="openid email"
  --oidc-email-claim=sub
  --email-domain='*'
  --skip-provider-button
  --show-debug-on-error
  --silence-ping-logging
)
check_ports_free oauth2-proxy="$proxy_port"
"$o2p" "${proxy_flags[@]}" </dev/null >"$tmp/oauth2-proxy.log" 2>&1 &
proxy_pid=$!
echo "oauth2-proxy started (pid $proxy_pid) on $proxy:"
printf '  %s\n' "${proxy_flags[@]}"
ready=""
for ((i = 0; i < 100; i++)); do
  if ! kill -0 "$proxy_pid" 2>/dev/null; then
    # Its error comes first (a failed discovery is followed by the whole answer's body).
    echo "---- first lines of the oauth2-proxy log ----" >&2
    head -n 12 "$tmp/oauth2-proxy.log" | cut -c1-400 >&2 || true
    fail "oauth2-proxy exited at startup (its log is above)" \
      "'error while discovery OIDC configuration' or 'issuer did not match': $portal/.well-known/openid-configuration must answer 200 with issuer exactly $portal"
  fi
  if [[ "$(status_of "$proxy/ping" --max-time 2)" == 200 ]]; then
    ready=1
    break
  fi
  sleep 0.1
done
[[ -n "$ready" ]] || { logs_tail; fail "oauth2-proxy did not answer 200 on $proxy/ping within 10 s"; }
echo "oauth2-proxy: /ping 200"

# ---------------------------------------------------------------------------------------------
header "login through the provider"
jar="$tmp/cookies"
: >"$jar"
hop_n=0
hop_code=""
hop_location=""
hop_body=""

# hop NAME URL [curl options...] makes one request with the shared cookie jar and no
# redirect following; sets hop_code, hop_location (absolute, resolved by curl) and hop_body.
# Requests to the TLS listener trust the demo's authority.
hop() {
  local name=$1 url=$2 out
  shift 2
  local -a opts=()
  [[ "$url" != "$tls/"* ]] || opts=(--cacert "$datadir/ca/ca.pem")
  hop_n=$((hop_n + 1))
  hop_body="$tmp/hop$hop_n.body"
  out=$(curl -sS --max-time 15 -b "$jar" -c "$jar" -o "$hop_body" -D "$tmp/hop$hop_n.headers" \
    -w '%{http_code} %{redirect_url}' "${opts[@]}" "$@" "$url") ||
    hop_fail "$name" "GET $url: no answer (curl failed)"
  hop_code=${out%% *}
  hop_location=${out#* }
  printf '  hop %d, %s:\n    GET %s\n    -> %s%s\n' "$hop_n" "$name" "$url" "$hop_code" "${hop_location:+ Location: $hop_location}"
}

# hop_fail NAME MESSAGE... shows the last answer and the logs, then fails.
hop_fail() {
  local name=$1
  shift
  if [[ -f "$tmp/hop$hop_n.headers" ]]; then
    echo "---- answer to hop $hop_n: headers ----" >&2
    sed 's/^\(Set-Cookie: [^=]*=\)[^;]*/\1.../I' "$tmp/hop$hop_n.headers" >&2 || true
    echo "---- answer to hop $hop_n: body (its text, first 30 lines) ----" >&2
    if grep -qi '^Content-Type: text/html' "$tmp/hop$hop_n.headers"; then
      # An HTML page (civico's or oauth2-proxy's error page): its visible text only.
      sed -e '/<script/,/<\/script>/d' -e '/<style/,/<\/style>/d' -e 's/<[^>]*>//g' -e 's/^[[:space:]]*//' "$hop_body" |
        grep -v '^$' | head -n 30 >&2 || true
    else
      head -n 30 "$hop_body" >&2 || true
    fi
    echo >&2
  fi
  logs_tail
  fail "hop $hop_n ($name): $1" "${@:2}"
}

# set_cookie NAME: whether the last answer set the cookie NAME (or its split parts NAME_0...).
set_cookie() {
  grep -qiE "^Set-Cookie: $1(_[0-9]+)?=[^;]" "$tmp/hop$hop_n.headers"
}

# 1. No session: oauth2-proxy sends the visitor straight to the authorize endpoint
# (--skip-provider-button) with PKCE, state and nonce, and sets its CSRF cookie.
name="oauth2-proxy redirects to the provider's authorize endpoint"
hop "$name" "$proxy/"
[[ "$hop_code" == 302 && "$hop_location" == "$authorize_url?"* ]] ||
  hop_fail "$name" "answered $hop_code${hop_location:+ to $hop_location}, want 302 to $authorize_url?..."
for p in response_type client_id redirect_uri state nonce code_challenge code_challenge_method; do
  [[ -n "$(query_param "$p" "$hop_location")" ]] || hop_fail "$name" "the authorize URL has no $p parameter"
done
[[ "$(query_param code_challenge_method "$hop_location")" == S256 ]] || hop_fail "$name" "the authorize URL does not ask for PKCE S256"
set_cookie _oauth2_proxy_csrf || hop_fail "$name" "oauth2-proxy did not set its CSRF cookie _oauth2_proxy_csrf"

# 2. The provider has no portal session: it sends the visitor to the login page,
# /accedi?next=<a path back into the provider>, or to the card step-up page
# /accedi/carta?next=... (it may redirect within itself first: /oidc/accedi?id=...).
name="the provider sends a visitor without a session to /accedi"
login_url=""
for ((r = 0; r < 5; r++)); do
  hop "$name" "$hop_location"
  case "$hop_code" in 302 | 303) ;; *) hop_fail "$name" "answered $hop_code, want 302 or 303 towards $portal/accedi?next=..." ;; esac
  [[ -n "$hop_location" ]] || hop_fail "$name" "answered $hop_code without a Location"
  [[ "$hop_location" != "$proxy/"* ]] ||
    hop_fail "$name" "the provider went back to oauth2-proxy without a login: $hop_location" \
      "error=$(urldecode "$(query_param error "$hop_location")") $(urldecode "$(query_param error_description "$hop_location")")"
  if [[ "$hop_location" =~ ^($portal|$tls)/accedi(/carta)?\? ]]; then
    login_url=$hop_location
    break
  fi
  [[ "$hop_location" == "$portal/"* || "$hop_location" == "$tls/"* ]] ||
    hop_fail "$name" "redirected off the portal to $hop_location"
done
[[ -n "$login_url" ]] || hop_fail "$name" "no redirect to /accedi?next=... within 5 redirects"
next=$(query_param next "$login_url")
[[ "$(urldecode "$next")" == /* ]] || hop_fail "$name" "the login page's next is \"$(urldecode "$next")\", want a path on the portal"
echo "    next: $(urldecode "$next")"

# 3. The login (or step-up) page offers the card login with the same next.
name="the login page"
hop "$name" "$login_url"
[[ "$hop_code" == 200 ]] || hop_fail "$name" "answered $hop_code, want 200"
grep -q 'login/crs?next=' "$hop_body" || hop_fail "$name" "the page has no card login link (login/crs?next=...)"

# 4. Card login over TLS, as a browser with the demo card would follow that link.
name="smart-card login over TLS"
hop "$name" "$tls/login/crs?next=$next" \
  --cert "$datadir/ca/cards/luca-ferrari.pem" --key "$datadir/ca/cards/luca-ferrari.key"
[[ "$hop_code" == 303 ]] || hop_fail "$name" "answered $hop_code, want 303 (was the demo card refused?)"
[[ "$hop_location" == "$tls$(urldecode "$next")" ]] ||
  hop_fail "$name" "redirected to $hop_location, want $tls$(urldecode "$next") (next, on the TLS listener)"
set_cookie civico_session || hop_fail "$name" "the card login set no civico_session cookie"

# 5. Back through the provider (/oidc/accedi?id=..., /oidc/authorize/callback?id=..., on the
# TLS listener, where the card login left the visitor): with the session it answers the
# authorization request by sending the code to oauth2-proxy's redirect URI (no consent page
# for a first-party client).
name="the provider sends the code back to oauth2-proxy"
callback_url=""
for ((r = 0; r < 5; r++)); do
  hop "$name" "$hop_location"
  case "$hop_code" in
    302 | 303) ;;
    200) hop_fail "$name" "answered a page (200) instead of redirecting: a consent or login page? A --first-party client gets none" ;;
    *) hop_fail "$name" "answered $hop_code, want 302 or 303 towards $proxy/oauth2/callback" ;;
  esac
  [[ -n "$hop_location" ]] || hop_fail "$name" "answered $hop_code without a Location"
  if [[ "$hop_location" == "$proxy/oauth2/callback?"* ]]; then
    callback_url=$hop_location
    break
  fi
  [[ "$hop_location" == "$portal/"* || "$hop_location" == "$tls/"* ]] ||
    hop_fail "$name" "redirected to $hop_location, neither the portal nor $proxy/oauth2/callback"
  [[ "$hop_location" != "$portal/accedi"* && "$hop_location" != "$tls/accedi"* ]] ||
    hop_fail "$name" "sent back to the login page after the card login: the provider did not see the portal session" \
      "(the card login's civico_session cookie is Secure and set by $tls; the provider must accept the session there)"
done
[[ -n "$callback_url" ]] || hop_fail "$name" "no redirect to $proxy/oauth2/callback within 5 redirects"
[[ -z "$(query_param error "$callback_url")" ]] ||
  hop_fail "$name" "the provider answered with an error: $(urldecode "$(query_param error "$callback_url")"): $(urldecode "$(query_param error_description "$callback_url")")"
[[ -n "$(query_param code "$callback_url")" && -n "$(query_param state "$callback_url")" ]] ||
  hop_fail "$name" "the redirect to oauth2-proxy lacks code or state"

# 6. oauth2-proxy redeems the code (client secret + code_verifier), verifies the id_token
# (signature, issuer, audience, expiry, nonce), may read the userinfo endpoint, and sets its session.
name="oauth2-proxy redeems the code"
hop "$name" "$callback_url"
if [[ "$hop_code" != 302 || "$hop_location" != "$proxy/" ]]; then
  hop_fail "$name" "answered $hop_code${hop_location:+ to $hop_location}, want 302 to $proxy/" \
    "500: the token exchange, the id_token's verification or the userinfo request failed (oauth2-proxy's log says which)" \
    "403: CSRF cookie lost, nonce mismatch or session validation failed (oauth2-proxy's log says which)"
fi
set_cookie _oauth2_proxy || hop_fail "$name" "oauth2-proxy set no session cookie _oauth2_proxy"

# 7. The test page, through oauth2-proxy.
name="the test page through oauth2-proxy"
hop "$name" "$proxy/"
[[ "$hop_code" == 200 ]] || hop_fail "$name" "answered $hop_code, want 200"
[[ "$(cat "$hop_body")" == "hello, world" ]] || hop_fail "$name" "the body is not the test page's 'hello, world'"

# ---------------------------------------------------------------------------------------------
header "oauth2-proxy's view of the session"
name="oauth2-proxy's /oauth2/userinfo"
hop "$name" "$proxy/oauth2/userinfo"
[[ "$hop_code" == 200 ]] || hop_fail "$name" "answered $hop_code, want 200"
user=$(json_str user <"$hop_body")
email=$(json_str email <"$hop_body")
[[ -n "$user" && "$email" == "$user" ]] ||
  hop_fail "$name" "want user and email both set to the id_token's sub (--oidc-email-claim=sub): $(cat "$hop_body")"
echo "    user (sub): $user"
name="oauth2-proxy's /oauth2/auth with the session"
hop "$name" "$proxy/oauth2/auth"
[[ "$hop_code" == 202 ]] || hop_fail "$name" "answered $hop_code, want 202"
code=$(status_of "$proxy/oauth2/auth")
[[ "$code" == 401 ]] || { logs_tail; fail "/oauth2/auth without the cookie answered $code, want 401"; }
echo "  /oauth2/auth without a session: 401"

env -u CIVICO_TEST_POSTGRES_URL CIVICO_DATA_DIR="$datadir" CIVICO_DATABASE_URL="" "$civico" audit verify ||
  demo_fail "civico audit verify failed on the demo's audit log after the OIDC login"
echo "audit log: chain intact"
echo "oauth2-proxy $OAUTH2_PROXY_VERSION logged in through civico's OpenID Connect provider ($hop_n hops)"
