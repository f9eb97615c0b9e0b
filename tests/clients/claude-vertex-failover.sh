#!/bin/bash
# Claude Code through failover to Claude on Vertex AI (issue 9): the primary
# (Anthropic) answers 429, Vertex serves. The fake Vertex takes only the
# token its Google token endpoint issued for the service account's RS256 JWT,
# wants :streamRawPredict with anthropic_version and no model, and refuses
# two of Claude Code's anthropic-beta values as Vertex does. `claude -p` must
# print Vertex's text, and no token or key may appear in any log.
. "$(dirname "$0")/lib.sh"
us_setup
us_need_client claude

answer="Vertex here, all good ($(us_random))"
client_key=sk-client-$(us_random)$(us_random)
credentials=$US_TMP/vertex-sa.json

us_start_fake primary anthropic --script 429:30 --default 429:30
primary=$US_FAKE_URL
us_start_fake vertex anthropic --text "$answer" --vertex test-project/us-east5 \
  --google-credentials "$credentials" --vertex-refuse-betas claude-code-20250219,fine-grained-tool-streaming-2025-05-14
vertex=$US_FAKE_URL
us_write_config 0 "primary anthropic $primary * passthrough"
# The Vertex provider has fields us_write_config does not write.
python3 - "$US_CONFIG" "$vertex" "$credentials" <<'PY'
import json, sys
path, url, credentials = sys.argv[1:]
config = json.load(open(path))
config["providers"].append({"id": "vertex", "kind": "vertex-anthropic", "base_url": url,
                            "project": "test-project", "region": "us-east5",
                            "credentials_file": credentials})
config["chains"][0]["models"].append({"provider": "vertex", "model": "claude-sonnet-4-5@20250929"})
json.dump(config, open(path, "w"), indent=2)
PY
us_start_understudy

us_run_client claude env ANTHROPIC_BASE_URL="$US_URL" ANTHROPIC_API_KEY="$client_key" \
  "$US_CLIENT" -p "say hi"
[ "$US_RC" = 0 ] || us_fail "claude -p failed"
us_expect_stdout claude "$answer"
us_print_requests
us_expect_failover claude-code primary vertex

us_check '
r = [r for r in requests if r["client"] == "claude-code" and r["endpoint"] == "messages"][-1]
assert r["served_provider"] == "vertex", r
served = [e for e in fake("vertex") if e.get("behavior") == "ok" and e["path"].endswith(":streamRawPredict")]
assert served, "Vertex served no streamed request: %s" % [e["path"] for e in fake("vertex")]
for e in fake("vertex"):
    assert e["path"].startswith("/v1/projects/test-project/locations/us-east5/publishers/anthropic/models/"), e["path"]
    assert e.get("auth") == "bearer", "Vertex got %s, not a Bearer token" % e.get("auth")
# What Vertex refused once never reaches it again.
refused = {"claude-code-20250219", "fine-grained-tool-streaming-2025-05-14"}
for e in served:
    betas = set(b.strip() for b in e["headers"].get("anthropic-beta", "").split(","))
    assert not betas & refused, "Vertex served a request with %s" % (betas & refused)
print("Vertex requests: %d, served: %d" % (len(fake("vertex")), len(served)))
'

for secret in "$US_TOKEN" "$client_key"; do
  us_expect_absent "$secret" "$US_TMP"/understudy.out "$US_TMP"/understudy.err \
    "$US_TMP"/primary.* "$US_TMP"/vertex.* "$US_TMP"/status.json
done
us_pass
