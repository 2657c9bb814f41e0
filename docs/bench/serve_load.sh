#!/usr/bin/env bash
# Load and memory check of `emo serve` (issue 18): 8 concurrent clients for 30 s posting a real 3 s clip, then the
# same with every fifth request garbage (truncated FLAC, random bytes, a video-only mp4), then oversized and large
# garbage bodies; resident memory of the server after each phase. Needs wrk, ffmpeg, a release build.
# Usage: docs/bench/serve_load.sh [PORT]   (from the repository root)
set -euo pipefail
port=${1:-8099}
DURATION=${DURATION:-30s}
work=$(mktemp -d)
clip=../shared/data/ravdess/Actor_01/03-01-05-01-01-01-01.flac
cp "$clip" "$work/good.flac"
head -c 2000 "$clip" > "$work/truncated.flac"
head -c 100000 /dev/urandom > "$work/random.bin"
ffmpeg -loglevel error -f lavfi -i testsrc=size=64x64:rate=5 -t 2 -an "$work/video.mp4"
head -c 60000000 /dev/urandom > "$work/huge.bin"
head -c 45000000 /dev/urandom > "$work/large.bin"
.build/release/emo serve Sources/emo/Demo/bundle --port "$port" --workers 2 --queue 16 2>"$work/server.log" &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
pid=$(pgrep -P $server emo-serve || echo $server)
rss() { awk '/VmRSS/ {printf "%.1f MB", $2/1024}' /proc/$pid/status; }
curl -s -o /dev/null --data-binary @"$work/good.flac" -H 'Content-Type: audio/flac' "http://127.0.0.1:$port/v1/predict"
echo "RSS after the first request: $(rss)"
cat > "$work/tally.lua" <<LUA
local files = {}
for _, name in ipairs({"good.flac", "truncated.flac", "random.bin", "video.mp4"}) do
  local f = io.open("$work/" .. name, "rb"); files[name] = f:read("*all"); f:close()
end
local garbage = {"truncated.flac", "random.bin", "video.mp4"}
n = 0
counts = {}
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) counts = {}; mixed = args[1] == "mixed" end
function request()
  n = n + 1
  local name = "good.flac"
  if mixed and n % 5 == 0 then name = garbage[(n / 5) % 3 + 1] end
  return wrk.format("POST", "/v1/predict", {["Content-Type"] = "application/octet-stream"}, files[name])
end
function response(status) counts[status] = (counts[status] or 0) + 1 end
function done(summary, latency)
  local total = {}
  for _, t in ipairs(threads) do
    local c = t:get("counts")
    for k, v in pairs(c) do total[k] = (total[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(total) do table.insert(parts, v .. " x " .. k) end
  io.write(string.format("statuses: %s; p50 %.0f ms, p99 %.0f ms, max %.0f ms\n", table.concat(parts, ", "),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
LUA
round() {
  echo "== round $1, clean: 8 connections, ${DURATION}"
  wrk -t2 -c8 -d"$DURATION" --timeout 30s -s "$work/tally.lua" "http://127.0.0.1:$port" | grep -E "Requests/sec|statuses"
  echo "RSS after the clean run: $(rss)"
  echo "== round $1, mixed: every fifth request garbage"
  wrk -t2 -c8 -d"$DURATION" --timeout 30s -s "$work/tally.lua" "http://127.0.0.1:$port" -- mixed | grep -E "Requests/sec|statuses"
  echo "RSS after the mixed run: $(rss)"
  for body in huge huge huge large large large; do
    printf '%s body (%s bytes): HTTP %s\n' $body "$(stat -c %s "$work/$body.bin")" \
      "$(curl -s -o /dev/null -w '%{http_code}' --data-binary @"$work/$body.bin" "http://127.0.0.1:$port/v1/predict")"
  done
  sleep 1
  echo "RSS after 3 x 60 MB and 3 x 45 MB bodies: $(rss)"
}
# Round 1 warms every worker and every decoder path; round 2 must end where round 1 did (no growth).
for r in 1 2 3; do round $r; done
