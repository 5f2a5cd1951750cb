-- bench/soak_mix.lua — the mixed load of `make soak` (scripts/soak.sh):
-- reads of every kind, writes with the app and doctor keys, and requests
-- that must be refused with a 4xx (bad JSON, unknown ids, forged cursors,
-- bad parameters, missing or unknown keys, wrong method or media type).
-- Each connection waits SOAK_DELAY_MS between requests, so the soak holds
-- a steady load instead of saturating a shared machine.
--
-- Files and keys come from the environment (scripts/soak.sh sets them):
--   SOAK_DATA  a folder with ids.txt (question ids), dept_ids.txt (ids of
--              questions in the doctor's department), doctors.txt,
--              topics.txt, cursor.txt (a valid next_cursor), terms.txt,
--              etags.txt ("id etag" lines)
--   SOAK_APP_KEY, SOAK_DOCTOR_KEY, SOAK_PARTNER_KEY, SOAK_DEPARTMENT
-- done() prints "soak-status CODE COUNT" lines and "soak-kind KIND COUNT"
-- lines for the report.

local threads = {}
local serial = 0

function setup(thread)
    serial = serial + 1
    thread:set("tid", serial)
    table.insert(threads, thread)
end

-- File reading, picking and URL encoding are bench/common.lua's (BENCH_LUA, set by
-- scripts/soak.sh).
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local common = require "common"
local lines, pick, urlencode = common.lines, common.pick, common.urlencode

local ids, dept_ids, doctors, topics, terms, cursor
local app, doctor, partner, dept, delay_ms
local posted = 0
-- Counted here (each thread has its own Lua state) and gathered in done().
counts = {}
kinds = {}
local etags

function init(args)
    math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
    math.random()
    local dir = assert(os.getenv("SOAK_DATA"), "SOAK_DATA is not set")
    ids = lines(dir .. "/ids.txt")
    dept_ids = lines(dir .. "/dept_ids.txt")
    doctors = lines(dir .. "/doctors.txt")
    topics = lines(dir .. "/topics.txt")
    terms = lines(dir .. "/terms.txt")
    cursor = lines(dir .. "/cursor.txt")[1]
    -- "id etag" pairs taken by scripts/soak.sh, for the conditional reads.
    etags = {}
    for _, l in ipairs(lines(dir .. "/etags.txt")) do
        local id, tag = l:match("^(%S+) (.+)$")
        etags[#etags + 1] = { id, tag }
    end
    app = assert(os.getenv("SOAK_APP_KEY"))
    doctor = assert(os.getenv("SOAK_DOCTOR_KEY"))
    partner = assert(os.getenv("SOAK_PARTNER_KEY"))
    dept = assert(os.getenv("SOAK_DEPARTMENT"))
    delay_ms = tonumber(os.getenv("SOAK_DELAY_MS") or "0")
end

local json = { ["Content-Type"] = "application/json" }

local function with_key(key, h)
    local t = { ["Authorization"] = "Bearer " .. key }
    for k, v in pairs(h or {}) do
        t[k] = v
    end
    return t
end

local function new_question()
    posted = posted + 1
    return string.format(
        '{"title":"Soak question %d-%d: eyelid twitching for two weeks",' ..
        '"body":"For two weeks my lower left eyelid has flickered several ' ..
        'times an hour, worse after late nights and coffee. Should I worry?",' ..
        '"language":"en","asker":{"name":"soak-writer","age_band":"30-39",' ..
        '"gender":"female"},"department":"%s","topics":["%s"]}',
        tid or 0, posted, dept, pick(topics))
end

-- Each entry: weight, kind, and a function returning (method, path,
-- headers, body). Kinds starting with "bad" expect a 4xx.
local mix = {
    { 80, "get", function() return "GET", "/questions/" .. pick(ids) end },
    { 32, "get-replies", function() return "GET", "/questions/" .. pick(ids) .. "?include=replies" end },
    { 12, "get-304", function()
        local e = pick(etags)
        return "GET", "/questions/" .. e[1], { ["If-None-Match"] = e[2] }
    end },
    { 32, "list", function()
        local extra = ({ "", "&sort=updated", "&state=answered", "&topic=" .. pick(topics) })[math.random(4)]
        return "GET", "/questions?department=" .. dept .. "&limit=20" .. extra
    end },
    { 12, "list-cursor", function() return "GET", "/questions?limit=20&cursor=" .. cursor end },
    { 16, "search", function()
        return "GET", "/questions?q=" .. urlencode(pick(terms)) .. "&sort=relevance&limit=10"
    end },
    -- /related costs far more than the rest at N = 100000 (see
    -- bench/RESULTS.md): a little of it (under 1 %) goes a long way.
    { 1, "related-id", function() return "GET", "/related?question_id=" .. pick(ids) end },
    { 1, "get-full", function()
        return "GET", "/questions/" .. pick(ids) .. "?include=replies,related"
    end },
    { 1, "related-text", function()
        return "GET", "/related?text=" .. urlencode(pick(terms)) .. "&limit=5"
    end },
    { 16, "question-replies", function() return "GET", "/questions/" .. pick(dept_ids) .. "/replies" end },
    { 12, "replies", function() return "GET", "/replies?doctor=" .. pick(doctors) .. "&limit=20" end },
    { 8, "topics", function() return "GET", "/topics?limit=50" end },
    { 8, "topic", function() return "GET", "/topics/" .. pick(topics) end },
    { 8, "doctors", function() return "GET", "/doctors?department=" .. dept end },
    { 8, "doctor", function() return "GET", "/doctors/" .. pick(doctors) end },
    { 8, "departments", function() return "GET", "/departments" end },
    { 8, "changes", function() return "GET", "/changes?limit=100", with_key(partner) end },
    { 4, "health", function() return "GET", ({ "/healthz", "/readyz", "/metrics" })[math.random(3)] end },
    { 4, "spec", function() return "GET", ({ "/openapi.json", "/openapi.yaml", "/docs" })[math.random(3)] end },
    -- Writes.
    { 20, "post-question", function()
        return "POST", "/questions", with_key(app, json), new_question()
    end },
    { 12, "post-reply", function()
        posted = posted + 1
        return "POST", "/questions/" .. pick(dept_ids) .. "/replies", with_key(doctor, json),
            string.format('{"body":"Soak reply %d-%d: brief eyelid twitches are usually harmless; sleep more."}',
                tid or 0, posted)
    end },
    -- Requests medqa must refuse with a 4xx.
    { 8, "bad-json", function() return "POST", "/questions", with_key(app, json), '{"title": "x", ' end },
    { 4, "bad-body", function()
        return "POST", "/questions", with_key(app, json), '{"title": 5, "department": "nowhere"}'
    end },
    { 8, "bad-unknown-id", function() return "GET", "/questions/00000000-0000-4000-8000-000000000000" end },
    { 4, "bad-uuid", function() return "GET", "/questions/not-a-uuid" end },
    { 8, "bad-cursor", function()
        return "GET", "/questions?cursor=" .. ({ "AAAA", "eyJ4IjoxfQ", string.rep("Z", 200) })[math.random(3)]
    end },
    { 4, "bad-param", function() return "GET", "/questions?limit=100000&colour=red" end },
    { 4, "bad-key", function() return "POST", "/questions", with_key("mq_000000000000_nope", json), new_question() end },
    { 4, "bad-no-key", function() return "GET", "/changes" end },
    { 4, "bad-role", function() return "POST", "/topics", with_key(app, json), '{"name":"Soak","department":"neurology"}' end },
    { 4, "bad-method", function() return "DELETE", "/departments" end },
    { 4, "bad-media", function()
        return "POST", "/questions", with_key(app, { ["Content-Type"] = "text/plain" }), "hello"
    end },
    { 4, "bad-path", function() return "GET", "/wp-login.php" end },
}

local total = 0
for _, e in ipairs(mix) do
    total = total + e[1]
end

function request()
    local r = math.random(total)
    for _, e in ipairs(mix) do
        r = r - e[1]
        if r <= 0 then
            kinds[e[2]] = (kinds[e[2]] or 0) + 1
            local method, path, headers, body = e[3]()
            return wrk.format(method, path, headers, body)
        end
    end
end

function response(status, headers, body)
    counts[status] = (counts[status] or 0) + 1
end

function delay()
    return delay_ms
end

function done(summary, latency, requests)
    local all, allk = {}, {}
    for _, t in ipairs(threads) do
        for code, n in pairs(t:get("counts")) do
            all[code] = (all[code] or 0) + n
        end
        for k, n in pairs(t:get("kinds")) do
            allk[k] = (allk[k] or 0) + n
        end
    end
    for code, n in pairs(all) do
        io.write(string.format("soak-status %d %d\n", code, n))
    end
    for k, n in pairs(allk) do
        io.write(string.format("soak-kind %s %d\n", k, n))
    end
end
