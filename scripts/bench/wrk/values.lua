-- One value from a file per request (tokens, codes, refresh tokens).
--   BENCH_FILE    values, one a line; thread k takes lines k, k+n, ...
--   BENCH_MODE    "cycle" (reuse: introspection, userinfo) or "once" (single-use: codes,
--                 refresh tokens; a thread stops when its share is used up)
--   BENCH_BODY    form body with %s where the url-encoded value goes (POST); empty: GET
--                 with "Authorization: Bearer <value>"
--   BENCH_AUTH    Authorization header for the POST (client authentication), or of every
--                 request with BENCH_HEADER
--   BENCH_HEADER  the value goes in this header instead (DPoP proofs); BENCH_BODY, if set,
--                 is then POSTed as it is
--   BENCH_COLLECT space-separated JSON fields of the responses to append, one a line, to
--                 BENCH_COLLECT_OUT.<field>.<thread> (e.g. "access_token refresh_token")
local C = dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
local values, i, fields, outs = nil, 0, {}, {}
local once = C.env("BENCH_MODE", "cycle") == "once"
local body = C.env("BENCH_BODY", nil)
local auth = C.env("BENCH_AUTH", nil)
local header = C.env("BENCH_HEADER", nil)

function init(args)
    values = C.share(C.env("BENCH_FILE", ""), tid, C.nthreads)
    for f in C.env("BENCH_COLLECT", ""):gmatch("%S+") do
        fields[#fields + 1] = f
        outs[f] = assert(io.open(C.env("BENCH_COLLECT_OUT", "/tmp/bench") .. "." .. f .. "." .. tid, "w"))
    end
end

function request()
    if #values == 0 then
        wrk.thread:stop()
        return wrk.format("GET", "/", {})
    end
    i = i + 1
    if i > #values then
        if once then
            -- used up: stop, and never send a value twice (a code sent again is a replay,
            -- which revokes the tokens its first use issued)
            wrk.thread:stop()
            return wrk.format("GET", "/", {})
        end
        i = 1
    end
    local v = values[i]
    if header then
        local h = {[header] = v}
        if auth then h["Authorization"] = auth end
        if not body then return wrk.format("GET", nil, h) end
        h["Content-Type"] = "application/x-www-form-urlencoded"
        return wrk.format("POST", nil, h, body)
    end
    if body then
        local h = {["Content-Type"] = "application/x-www-form-urlencoded"}
        if auth then h["Authorization"] = auth end
        return wrk.format("POST", nil, h, (body:gsub("%%s", (C.urlencode(v):gsub("%%", "%%%%")))))
    end
    return wrk.format("GET", nil, {["Authorization"] = "Bearer " .. v})
end

if os.getenv("BENCH_COLLECT") and os.getenv("BENCH_COLLECT") ~= "" then
    function response(status, headers, rbody)
        if status ~= 200 then return end
        for _, f in ipairs(fields) do
            local v = C.json_field(rbody, f)
            if v then outs[f]:write(v, "\n") end
        end
    end
end
