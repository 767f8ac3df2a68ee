-- grain: one row per post per observation of its counts
-- key: platform, post_id, observed_at
-- not_null: platform, post_id, observed_at
-- check: coalesce(likes, 0) >= 0 and coalesce(comments, 0) >= 0 and coalesce(shares, 0) >= 0
-- check: coalesce(quotes, 0) >= 0 and coalesce(views, 0) >= 0
-- test_where: observed_at >= getvariable('as_of') - interval 90 days and observed_at < getvariable('as_of')
with source as (
    select * from core.post_metric_snapshots
    -- impossible counts are kept out (listed in stg_quarantine), not left to fail the run
    where quality.post_counts_problem(likes, comments, shares, quotes, views) is null
),

renamed as (
    select
        platform,
        post_id,
        observed_at,
        likes,
        comments,
        shares,
        quotes,
        views,
        load_id,
    from source
)

select * from renamed
