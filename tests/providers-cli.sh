#!/bin/bash
# providers-cli.sh: `understudy providers` lists every preset of the table
# with its endpoints, and the model rows with their limits and prices.
# Environment: UNDERSTUDY (the binary).
set -u
fail () { echo "FAIL: $*"; exit 1; }

out=$(LC_ALL=C LANGUAGE= "$UNDERSTUDY" providers) || fail "exit status $?"
for id in anthropic openai deepseek mistral xai openrouter groq gemini moonshot zhipu minimax qwen \
          ollama lmstudio llamacpp; do
  grep -q "^$id: " <<<"$out" || fail "preset $id missing"
done
grep -q '^  openai-chat https://api.deepseek.com/v1, auth: key (\$DEEPSEEK_API_KEY)$' <<<"$out" \
  || fail "deepseek endpoint line"
grep -q '^  Anthropic clients: https://api.deepseek.com/anthropic$' <<<"$out" || fail "deepseek Anthropic endpoint"
grep -Eq '^    deepseek-chat +128000 +8192 +0\.56 +1\.68 +0\.07 +0\.56$' <<<"$out" || fail "deepseek-chat row"
grep -Eq '^    claude-opus-4-5 +- +- +5\.00 +25\.00 +0\.50 +6\.25$' <<<"$out" || fail "claude-opus-4-5 row"
grep -q '^  suggested model: qwen3-coder (no limits or prices on record)$' <<<"$out" || fail "ollama line"
# Local servers are asked what they have: none runs at a free port, and
# one (the fake, speaking OpenAI) runs where the config says Ollama is.
tmp=$(mktemp -d)
trap 'kill $fake 2>/dev/null; rm -rf "$tmp"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$tmp/config/understudy"
cat >"$tmp/config/understudy/config.json" <<EOF
{ "version": 1,
  "providers": [ { "id": "ollama", "base_url": "http://127.0.0.1:$port/v1" } ],
  "chains": [ { "id": "default", "match": ["*"], "models": [ { "provider": "ollama", "model": "gpt-test" } ] } ] }
EOF
out=$(XDG_CONFIG_HOME="$tmp/config" LC_ALL=C LANGUAGE= "$UNDERSTUDY" providers) || fail "exit status $?"
grep -q "^  on this machine: not running at http://127.0.0.1:$port/v1 (" <<<"$out" || fail "ollama not running: $out"
"$US_FAKE_PROVIDER" --format openai-chat --port "$port" >/dev/null 2>&1 &
fake=$!
for _ in $(seq 50); do
  out=$(XDG_CONFIG_HOME="$tmp/config" LC_ALL=C LANGUAGE= "$UNDERSTUDY" providers)
  grep -q "^  on this machine: running at http://127.0.0.1:$port/v1, models: gpt-test, gpt-5, gpt-4.1-mini$" <<<"$out" && break
  sleep 0.1
done
grep -q "^  on this machine: running at http://127.0.0.1:$port/v1, models: gpt-test, gpt-5, gpt-4.1-mini$" <<<"$out" \
  || fail "ollama running: $out"

# No secret can be in it: key variables are named, never read.
DEEPSEEK_API_KEY=sk-must-not-show "$UNDERSTUDY" providers | grep -q sk-must-not-show && fail "a key was printed"
echo "ok"
