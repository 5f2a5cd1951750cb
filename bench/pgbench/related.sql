-- The ceiling of GET /related?question_id={id}: medqa's prepared
-- statement "related_get" (internal/handlers/related.c), limit 4, with the
-- id drawn from bench_ids. Variables: nids, base, rlim (-D).
\set k random(1, :nids)
SELECT mq_related((SELECT b.id FROM bench_ids b WHERE b.n = :k), NULL, NULL, :rlim::int, :base)::text;
