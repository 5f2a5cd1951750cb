-- GET /questions/{id}?include=replies,related over random ids of the page
-- sample (BENCH_PAGE_IDS_FILE, var/bench/page_ids_N_n.txt: the ids whose
-- stored Similar Q&A scripts/bench.sh warmed): the whole question page.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local b = require "common"
local ids
setup = b.setup
function init(args)
    b.init()
    local f = os.getenv("BENCH_PAGE_IDS_FILE")
    ids = f and b.lines(f) or b.ids()
end
function request()
    return wrk.format("GET", "/questions/" .. b.pick(ids) .. "?include=replies,related")
end
