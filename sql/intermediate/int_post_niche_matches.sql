-- grain: one row per post ever loaded per niche it matches (niche NULL: it matches none, or is a repost or reply)
-- key: platform, post_id, niche
-- not_null: platform, post_id, created_at
-- check: (niche is null) = (first_matched_term is null)
-- check: (niche is null) = (matched_term_count = 0)
-- materialized: incremental
-- replace_by: platform, post_id
-- cluster_by: created_at
-- rebuild_slices: (select list(day + interval 1 day order by day) from (select day, posts, sum(posts) over (order by day) as running from (select date_trunc('day', created_at) as day, count(*) as posts from staging.stg_posts group by day)) where (running - posts) // 500000 < running // 500000)
-- let: changed_from = (select min(created_at) from staging.stg_posts where getvariable('since_load') is null or load_id > getvariable('since_load'))
-- Kept per post between runs, as the term hits are: a day's run matches the day's posts
-- only. The window (and whether a post still counts as of the run) comes from
-- int_own_posts, which the marts join. The NULL row lets a post that no longer matches
-- any niche after an edit replace the rows it had.
with changed as (
    select platform, post_id, created_at,
    -- own or not: a post that became a reply or a repost replaces its rows by a NULL one
    from staging.stg_posts
    where (getvariable('since_load') is null or load_id > getvariable('since_load'))
        and config.in_rebuild_slice(created_at)
),

-- the changed posts' hits: term hits were refreshed for the same posts earlier in the run
hits as (
    select
        platform,
        post_id,
        scope as niche,
        -- a count and one example, not a list: list aggregates are slow over millions of posts
        min(matched_term) as first_matched_term,
        count(*) as matched_term_count,  -- term hits are distinct per post already
    from intermediate.int_post_term_hits
    where hit_kind = 'niche' and created_at >= getvariable('changed_from')
        and config.in_rebuild_slice(created_at)
    group by platform, post_id, scope
),

final as (
    select
        changed.platform,
        changed.post_id,
        changed.created_at,
        hits.niche,
        hits.first_matched_term,
        coalesce(hits.matched_term_count, 0) as matched_term_count,
    from changed
    left join hits on changed.platform = hits.platform and changed.post_id = hits.post_id
)

select * from final
