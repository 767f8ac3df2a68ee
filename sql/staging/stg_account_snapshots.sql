-- grain: one row per account per observation
-- key: platform, account_id, observed_at
-- not_null: platform, account_id, observed_at, follower_precision
-- check: followers is null or followers >= 0
-- check: (followers is null) = (follower_precision = 'hidden')
-- test_where: observed_at >= getvariable('as_of') - interval 97 days and observed_at < getvariable('as_of')
with source as (
    select * from core.account_snapshots
    -- impossible follower counts are kept out (listed in stg_quarantine)
    where quality.follower_count_problem(followers, follower_precision) is null
),

renamed as (
    select
        platform,
        account_id,
        observed_at,
        followers,
        following,
        posts_count,
        follower_precision,
        load_id,
    from source
)

select * from renamed
