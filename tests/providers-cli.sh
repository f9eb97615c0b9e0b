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
# No secret can be in it: key variables are named, never read.
DEEPSEEK_API_KEY=sk-must-not-show "$UNDERSTUDY" providers | grep -q sk-must-not-show && fail "a key was printed"
echo "ok"
