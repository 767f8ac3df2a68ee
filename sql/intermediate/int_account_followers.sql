-- grain: one row per account with a snapshot observed before as_of
-- key: platform, account_id
-- not_null: platform, account_id, observed_at, follower_precision
-- check: (tier is null) = (followers is null)
-- materialized: window
with snapshots as (
    select * from staging.stg_account_snapshots
    where observed_at < getvariable('as_of')
),

latest as (
    select * from snapshots
    qualify row_number() over (
        partition by platform, account_id order by observed_at desc
    ) = 1
),

tiered as (
    select
        latest.platform,
        latest.account_id,
        latest.observed_at,
        latest.followers,
        latest.following,
        latest.posts_count,
        latest.follower_precision,
        tiers.tier,
    from latest
    left join config.tiers as tiers
        on latest.followers >= tiers.min_followers
        and (tiers.max_followers is null or latest.followers < tiers.max_followers)
)

select * from tiered
