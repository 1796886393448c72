#!/usr/bin/env bash
# A screenshot of the web arena answering one example prompt, as the README shows it: starts `saferlhf serve` with the
# given policies, drives headless Chromium through chromedriver's WebDriver API (Debian's chromium and chromium-driver,
# installed by environment/install.sh), picks example prompt INDEX, asks the first two policies, waits for both scored
# answers, saves the page as PNG.
#
#   environment/arena-screenshot.sh OUT.png INDEX --policy NAME=DIR --policy NAME=DIR [serve options ...]
#
# The README's picture: R=checkpoints/reproduce-full-seed42 (with rounds.later_threshold=previous, the default)
#   environment/arena-screenshot.sh docs/images/arena-ppo-vs-safe-rlhf.png 22 --policy "PPO (reward only)"=$R/ppo/model \
#       --policy "Safe RLHF round 3"=$R/rounds/round-3/ppo-lag/model --reward-model $R/rm/model --cost-model $R/cm/model
set -euo pipefail
[ $# -ge 4 ] || { sed -n 2,12p "$0"; exit 2; }
out=$(realpath -m "$1"); index=$2; shift 2
cd "$(dirname "${BASH_SOURCE[0]}")/.."
port=${SAFERLHF_ARENA_PORT:-8766}; driver_port=${SAFERLHF_DRIVER_PORT:-9515}
./saferlhf serve "$@" --port "$port" > /tmp/arena-screenshot-serve.log 2>&1 & serve=$!
chromedriver --port="$driver_port" > /tmp/arena-screenshot-driver.log 2>&1 & driver=$!
trap 'kill $serve $driver 2>/dev/null || true' EXIT
for _ in $(seq 120); do curl -sf "http://127.0.0.1:$port/api/policies" >/dev/null && break; sleep 1; done
json() { python3 -c "import json,sys; print(json.load(sys.stdin)['value']$1)"; }
session=$(curl -s -X POST "http://127.0.0.1:$driver_port/session" -d '{"capabilities":{"alwaysMatch":{"goog:chromeOptions":{"binary":"/usr/bin/chromium","args":["--headless=new","--no-sandbox","--disable-gpu","--window-size=1200,760"]}}}}' | json "['sessionId']")
wd="http://127.0.0.1:$driver_port/session/$session"
curl -s -X POST "$wd/url" -d "{\"url\":\"http://127.0.0.1:$port/\"}" >/dev/null
sleep 2
curl -s -X POST "$wd/execute/sync" -d "{\"script\":\"const s=document.getElementById('examples'); s.selectedIndex=$index; s.dispatchEvent(new Event('change')); document.getElementById('ask').click(); return s.value;\",\"args\":[]}" | json ""
for _ in $(seq 180); do
  done=$(curl -s -X POST "$wd/execute/sync" -d '{"script":"return [\"red\",\"blue\"].every(s => document.getElementById(\"corner-\" + s).dataset.done === \"true\");","args":[]}' | json "")
  [ "$done" = "True" ] && break; sleep 1
done
curl -s "$wd/screenshot" | python3 -c "import json,sys,base64; open('$out','wb').write(base64.b64decode(json.load(sys.stdin)['value']))"
curl -s -X DELETE "$wd" >/dev/null
echo "wrote $out"
