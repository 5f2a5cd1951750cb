-- The ceiling of GET /related?question_id={id}: medqa's prepared
-- statement "related_get_stored" (internal/handlers/related.c), limit 4,
-- with the id drawn from bench_ids (mostly without a stored result: the
-- benchmark warms only the page sample, so this is the live computation).
-- Variables: nids, base, rlim (-D).
\set k random(1, :nids)
SELECT mq_related_stored((SELECT b.id FROM bench_ids b WHERE b.n = :k), :rlim::int, :base)::text;
