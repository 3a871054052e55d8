-- Shared by the wrk scripts of scripts/bench/run (loaded with dofile from BENCH_WRK_DIR).
-- Settings come from the environment (wrk passes no options to scripts but argv):
--   BENCH_THREADS   the -t given to wrk (to split value files between threads)
--   BENCH_LABEL     a label copied into the result line
-- done() prints one line "BENCHJSON {...}": successes/s (non-2xx/3xx and socket errors
-- are not successes), p50/p90/p99 in ms, and the error counts.

local M = {}

M.tid = 0
M.nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
local counter = 0

-- Gives each thread an id 0..n-1 (runs in the main Lua state, before the threads start).
function setup(thread)
    thread:set("tid", counter)
    counter = counter + 1
end

function M.env(name, default)
    local v = os.getenv(name)
    if v == nil or v == "" then return default end
    return v
end

-- Lines number tid, tid+n, tid+2n, ... of a file: this thread's share of the values.
function M.share(path, tid, n)
    local out, i = {}, 0
    local f = assert(io.open(path, "r"), "cannot open " .. path)
    for line in f:lines() do
        if line ~= "" then
            if i % n == tid then out[#out + 1] = line end
            i = i + 1
        end
    end
    f:close()
    return out
end

function M.urlencode(s)
    return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

-- The string value of "name" in a flat JSON object (enough for token responses).
function M.json_field(body, name)
    return body:match('"' .. name .. '"%s*:%s*"([^"]*)"')
end

local function pct(latency, p)
    return latency:percentile(p) / 1000.0
end

function done(summary, latency, requests)
    local e = summary.errors
    local bad = e.status + e.connect + e.read + e.write + e.timeout
    local ok = summary.requests - e.status
    if ok < 0 then ok = 0 end
    local secs = summary.duration / 1e6
    io.write(string.format(
        'BENCHJSON {"label":"%s","requests":%d,"ok":%d,"seconds":%.3f,"rps":%.1f,' ..
        '"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,' ..
        '"err_status":%d,"err_connect":%d,"err_read":%d,"err_write":%d,"err_timeout":%d,"errors":%d}\n',
        M.env("BENCH_LABEL", ""), summary.requests, ok, secs, ok / secs,
        pct(latency, 50), pct(latency, 90), pct(latency, 99), latency.max / 1000.0,
        e.status, e.connect, e.read, e.write, e.timeout, bad))
end

return M
