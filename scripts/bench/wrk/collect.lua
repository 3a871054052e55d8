-- A loader: sends BENCH_COUNT requests in all (split between threads), each a POST of
-- BENCH_BODY (or a GET when empty) with optional BENCH_AUTH and BENCH_COOKIE, and appends
-- from each answer to BENCH_COLLECT_OUT.<field>.<thread>:
--   BENCH_COLLECT  JSON fields of the body ("access_token"), or "location:code" for the
--                  code parameter of a redirect's Location header
local C = dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
local left, fields, outs, prefix = 0, {}, {}, nil
local body = C.env("BENCH_BODY", nil)

wrk.method = body and "POST" or "GET"
if body then
    wrk.body = body
    wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end
if C.env("BENCH_AUTH", nil) then wrk.headers["Authorization"] = C.env("BENCH_AUTH", nil) end
if C.env("BENCH_COOKIE", nil) then wrk.headers["Cookie"] = C.env("BENCH_COOKIE", nil) end

function init(args)
    local total = tonumber(C.env("BENCH_COUNT", "1000"))
    left = math.floor(total / C.nthreads)
    if tid < total % C.nthreads then left = left + 1 end
    prefix = C.env("BENCH_COLLECT_OUT", "/tmp/bench")
    for f in C.env("BENCH_COLLECT", "access_token"):gmatch("%S+") do
        fields[#fields + 1] = f
        outs[f] = assert(io.open(prefix .. "." .. f:gsub(":", "_") .. "." .. tid, "w"))
    end
end

-- A thread stops once its share of values is written (counted on answers, not requests:
-- the answers in flight on the other connections when it stops are a few extra values),
-- then leaves a marker PREFIX-done.<tid> for the runner, which polls for it.
local function finish()
    for _, o in pairs(outs) do o:close() end
    outs = {}
    local m = assert(io.open(prefix .. "-done." .. tid, "w"))
    m:close()
    wrk.thread:stop()
end

function response(status, headers, rbody)
    if left <= 0 then return end
    local got = false
    for _, f in ipairs(fields) do
        local v
        if f:sub(1, 9) == "location:" then
            local loc = headers["Location"] or headers["location"] or ""
            v = loc:match("[?&]" .. f:sub(10) .. "=([^&#]+)")
        elseif status == 200 then
            v = C.json_field(rbody, f)
        end
        if v then
            outs[f]:write(v, "\n")
            got = true
        end
    end
    if got then
        left = left - 1
        if left <= 0 then finish() end
    end
end
