-- The ceiling of GET /questions?q=…&sort=relevance (first page, limit 20):
-- the statement handle_list_questions() builds for a search. scripts/
-- bench.sh makes one copy per line of bench/search_terms.txt, with :q
-- renamed to :q1, :q2, … (-D), and pgbench picks among them at random.
SELECT mq_question_json(q, :base)::text, (ts_rank_cd(q.search, websearch_to_tsquery('english', :q)) + coalesce(ts_rank_cd(q.related_terms, mq_cjk_query(:q)), 0))::real::text, q.id::text FROM questions q WHERE q.deleted_at IS NULL AND (q.search @@ websearch_to_tsquery('english', :q) OR q.related_terms @@ mq_cjk_query(:q)) ORDER BY (ts_rank_cd(q.search, websearch_to_tsquery('english', :q)) + coalesce(ts_rank_cd(q.related_terms, mq_cjk_query(:q)), 0))::real DESC, q.id DESC LIMIT :lim;
