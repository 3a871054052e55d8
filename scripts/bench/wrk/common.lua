-- Shared by the wrk scripts of scripts/bench/run (loaded with dofile from BENCH_WRK_DIR).
-- Settings come from the environment (wrk passes no options to scripts but argv):
--   BENCH_THREADS   the -t given to wrk (to split value files between threads)
--   BENCH_LABEL     a label copied into the result line
--   BENCH_RATE      if set: pace the requests to this many per second in all (see delay())
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

-- Pacing (BENCH_RATE): wrk calls delay() before each request and waits the milliseconds it
-- returns. delay() is told nothing about the connection, so each thread keeps one schedule
-- for all its connections: slot k at start + k * BENCH_THREADS / BENCH_RATE, taken by
-- whichever connection is ready next. A late request takes its slot at once (delay 0), so
-- waiting for slow answers does not add up to a lower rate as a fixed per-connection delay
-- would; what the schedule cannot place (all connections busy) is sent late, and wrk's
-- latency counts from the actual send, not from the slot (no coordinated-omission fix).
M.rate = tonumber(M.env("BENCH_RATE", "0"))
if M.rate > 0 then
    local ffi = require("ffi")
    ffi.cdef [[
        struct bench_timespec { long tv_sec; long tv_nsec; };
        int clock_gettime(int clk, struct bench_timespec *ts);
    ]]
    local ts = ffi.new("struct bench_timespec")
    local function now_ms()
        ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
        return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
    end
    local interval, next_slot = 1000 * M.nthreads / M.rate, nil

    function delay()
        local now = now_ms()
        next_slot = next_slot or now
        local wait = next_slot - now
        next_slot = next_slot + interval
        if wait <= 0 then return 0 end
        return math.floor(wait + 0.5)
    end
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
        '"err_status":%d,"err_connect":%d,"err_read":%d,"err_write":%d,"err_timeout":%d,"errors":%d%s}\n',
        M.env("BENCH_LABEL", ""), summary.requests, ok, secs, ok / secs,
        pct(latency, 50), pct(latency, 90), pct(latency, 99), latency.max / 1000.0,
        e.status, e.connect, e.read, e.write, e.timeout, bad,
        M.rate > 0 and string.format(',"target_rps":%.1f', M.rate) or ""))
end

return M
