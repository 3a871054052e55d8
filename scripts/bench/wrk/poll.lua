-- Device-grant polls (RFC 8628 §3.4) and CIBA polls (with BENCH_AUTH): POST BENCH_BODY (with %s for the device code) for
-- each device code of BENCH_FILE in turn (cycled). A poll that is served answers 400 with
-- authorization_pending or slow_down: those count as successes; any other answer (and
-- socket errors) as errors. Prints the BENCHJSON line of common.lua's shape.
local C = dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
local threads = {}
local common_setup = setup
function setup(thread)
    common_setup(thread)
    threads[#threads + 1] = thread
end

local values, i = nil, 0
local body = C.env("BENCH_BODY", "")
local auth = C.env("BENCH_AUTH", nil) -- Authorization header (CIBA: the client's Basic auth)
served, other = 0, 0 -- globals: done() reads them with thread:get

function init(args)
    values = C.share(C.env("BENCH_FILE", ""), tid, C.nthreads)
end

function request()
    i = i % #values + 1
    local h = {["Content-Type"] = "application/x-www-form-urlencoded"}
    if auth then
        h["Authorization"] = auth
    end
    return wrk.format("POST", nil, h, (body:gsub("%%s", values[i])))
end

function response(status, headers, rbody)
    if status == 400 and (rbody:find("authorization_pending", 1, true)
                          or rbody:find("slow_down", 1, true)) then
        served = served + 1
    else
        other = other + 1
    end
end

function done(summary, latency, requests)
    local s, o = 0, 0
    for _, t in ipairs(threads) do
        s = s + t:get("served")
        o = o + t:get("other")
    end
    local e = summary.errors
    local secs = summary.duration / 1e6
    local bad = o + e.connect + e.read + e.write + e.timeout
    io.write(string.format(
        'BENCHJSON {"label":"%s","requests":%d,"ok":%d,"seconds":%.3f,"rps":%.1f,' ..
        '"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,"err_status":%d,"errors":%d}\n',
        C.env("BENCH_LABEL", ""), summary.requests, s, secs, s / secs,
        latency:percentile(50) / 1000.0, latency:percentile(90) / 1000.0,
        latency:percentile(99) / 1000.0, latency.max / 1000.0, o, bad))
end
