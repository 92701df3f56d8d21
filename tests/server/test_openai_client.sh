#!/usr/bin/env bash
# The official `openai` npm client against `pagedvk serve --api-key`: completions and chat, with
# and without streaming, models.list, errors (openai_client.mjs). Also the API key with curl:
# /v1 routes and /metrics need it (401 without or with a wrong one), /health does not.
# The package is installed once into the build tree from the npm registry (npm's cache first:
# --prefer-offline, so a machine that fetched it once needs no network); no node/npm (tools/deps.sh
# installs them) or a registry that cannot be reached → skip (77), saying which.
set -u
source "$(dirname "$0")/lib.sh"
need_model
need_tools node npm
NODE_DIR=$BUILD/tests/server/npm
mkdir -p "$NODE_DIR"
if [ ! -f "$NODE_DIR/node_modules/openai/package.json" ]; then
  (cd "$NODE_DIR" || exit 1
   [ -f package.json ] || echo '{"name": "pv-server-test", "private": true}' > package.json
   timeout 300 npm install openai@4 --prefer-offline --no-audit --no-fund --silent) > "$TMP/npm.log" 2>&1 ||
    { echo "skip: npm could not install the openai package (registry $(npm config get registry) unreachable?):"
      cat "$TMP/npm.log"; exit 77; }
fi
cp "$(dirname "$0")/openai_client.mjs" "$NODE_DIR/"

KEY=sk-test-$$
start_server --api-key "$KEY"

M='"model":"'$MODEL_NAME'"'
expect_error 401 invalid_api_key /v1/completions "{$M,\"prompt\":\"hi\",\"max_tokens\":2}"
expect_error 401 invalid_api_key /v1/completions "{$M,\"prompt\":\"hi\",\"max_tokens\":2}" -H "Authorization: Bearer wrong"
expect_error 401 invalid_api_key /v1/chat/completions "{$M,\"messages\":[]}" -H "Authorization: Basic $KEY"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/models")" = 401 ] || fail "/v1/models without a key"
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY" "$URL/v1/models")" = 200 ] ||
  fail "/v1/models with the key"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/health")" = 200 ] || fail "/health needs no key"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/metrics")" = 401 ] || fail "/metrics without the key"
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY" "$URL/metrics")" = 200 ] ||
  fail "/metrics with the key"
API_KEY=$KEY
[ "$(post /v1/completions "{$M,\"prompt\":\"hi\",\"max_tokens\":2}" -H "Authorization: Bearer $KEY")" = 200 ] ||
  fail "with the key: $(cat "$TMP/body")"

(cd "$NODE_DIR" && timeout 300 node openai_client.mjs "$URL/v1" "$MODEL_NAME" "$KEY") || fail "openai client"
stop_server
echo "server openai client: ok"
