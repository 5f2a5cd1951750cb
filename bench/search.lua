-- GET /questions?q=…&sort=relevance over the queries in
-- bench/search_terms.txt (the pgbench ceiling uses the same list).
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local b = require "common"
local paths
setup = b.setup
function init(args)
    b.init()
    paths = {}
    for _, q in ipairs(b.lines(os.getenv("BENCH_LUA") .. "/search_terms.txt")) do
        paths[#paths + 1] = "/questions?q=" .. b.urlencode(q) .. "&sort=relevance"
    end
end
function request()
    return wrk.format("GET", b.pick(paths))
end
