-- The ceiling of GET /questions?q=…&sort=relevance (first page, limit 20):
-- the statement handle_list_questions() builds for a search (Q_SEARCH_HEAD
-- and Q_SEARCH_TAIL in internal/handlers/questions.c). scripts/bench.sh
-- makes one copy per line of bench/search_terms.txt, with :q renamed to
-- :q1, :q2, … (-D), and pgbench picks among them at random. The page
-- LIMIT is the constant medqa sends (limit + 1, qb_limit()).
SELECT mq_search_json(r.q, :base, r.pat, r.tq), r.rank::text, (r.q).id::text FROM (SELECT m.q, s.pat, s.tq, ts_rank_cd('{0.1, 0.3, 0.5, 1.0}', (m.q).related_terms || (m.q).reply_terms, s.tq, 1)::real AS rank FROM (SELECT mq_search_query(:q) AS tq, mq_cjk_pattern(:q) AS pat OFFSET 0) AS s CROSS JOIN LATERAL (SELECT q FROM questions q WHERE q.deleted_at IS NULL AND (q.related_terms @@ s.tq OR q.reply_terms @@ s.tq) LIMIT 500) AS m) AS r WHERE true ORDER BY r.rank DESC, (r.q).id DESC LIMIT 21;
