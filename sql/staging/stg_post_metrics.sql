-- grain: one row per post per observation of its counts
-- key: platform, post_id, observed_at
-- not_null: platform, post_id, observed_at
-- check: coalesce(likes, 0) >= 0 and coalesce(comments, 0) >= 0 and coalesce(shares, 0) >= 0
-- test_where: observed_at >= getvariable('as_of') - interval 90 days and observed_at < getvariable('as_of')
with source as (
    select * from core.post_metric_snapshots
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
