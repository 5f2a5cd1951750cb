-- bench/common.lua — shared by the wrk scripts that scripts/bench.sh runs.
-- Each wrk thread has its own Lua state: setup() numbers the threads (in
-- the main state), init() seeds that thread's generator and loads files.
local M = {}

local threads = 0

function M.setup(thread)
    threads = threads + 1
    thread:set("bench_tid", threads)
end

function M.init()
    math.randomseed(os.time() * 1000 + (bench_tid or 0) * 7919)
    math.random()
end

-- The non-empty lines of a file, as an array.
function M.lines(path)
    local t = {}
    for l in io.lines(path) do
        if #l > 0 then
            t[#t + 1] = l
        end
    end
    assert(#t > 0, path .. " is empty")
    return t
end

-- Question ids dumped from the benchmark database by scripts/bench.sh.
function M.ids()
    return M.lines(assert(os.getenv("BENCH_IDS"), "BENCH_IDS is not set"))
end

function M.pick(t)
    return t[math.random(#t)]
end

function M.urlencode(s)
    return (s:gsub("[^%w%-%._~]", function(c)
        return string.format("%%%02X", string.byte(c))
    end))
end

-- POST /questions with the app key in BENCH_KEY. The asker name marks the
-- rows as the benchmark's own, so scripts/bench.sh can purge them.
-- `headers`, when given, are sent too (e.g. an Idempotency-Key).
local posted = 0
function M.post_question(headers)
    posted = posted + 1
    local body = string.format(
        '{"title":"Bench question %d-%d: eyelid twitching for two weeks",' ..
        '"body":"For two weeks my lower left eyelid has flickered several ' ..
        'times an hour, worse after late nights and coffee. Should I worry?",' ..
        '"language":"en","asker":{"name":"bench-writer","age_band":"30-39",' ..
        '"gender":"female"},"department":"neurology",' ..
        '"topics":["eyelid-muscle-twitching"]}',
        bench_tid or 0, posted)
    local h = {
        ["Content-Type"] = "application/json",
        ["Authorization"] = "Bearer " .. M.key,
    }
    for k, v in pairs(headers or {}) do
        h[k] = v
    end
    return wrk.format("POST", "/questions", h, body)
end

function M.init_post()
    M.key = assert(os.getenv("BENCH_KEY"), "BENCH_KEY is not set")
end

return M
