-- grain: one row per as-of instant per account with own posts in the 30 days before it
-- key: as_of, platform, account_id
-- not_null: as_of, platform, account_id, own_posts_30d, sponsored_posts_30d, platform_flagged_posts_30d, sponsored_share_30d
-- check: sponsored_posts_30d <= own_posts_30d
-- check: platform_flagged_posts_30d <= sponsored_posts_30d
-- check: sponsored_share_30d between 0 and 1
-- How much of an account's own output is paid: its sponsored posts (any evidence of
-- int_post_sponsorship) among the own posts that count at as_of, and how a rated
-- sponsored post engages next to an organic one.
with posts as (
    select
        own.platform,
        own.account_id,
        own.created_at,
        own.engagement_rate,
        sponsored.post_id is not null as is_sponsored,
        coalesce(sponsored.is_platform_flagged, false) as is_platform_flagged,
    from intermediate.int_own_posts as own
    left join intermediate.int_post_sponsorship as sponsored
        on own.platform = sponsored.platform and own.post_id = sponsored.post_id
    where own.in_30d
),

final as (
    select
        getvariable('as_of') as as_of,
        platform,
        account_id,
        count(*) as own_posts_30d,
        count(*) filter (where is_sponsored) as sponsored_posts_30d,
        count(*) filter (where is_platform_flagged) as platform_flagged_posts_30d,
        sponsored_posts_30d / own_posts_30d as sponsored_share_30d,
        max(created_at) filter (where is_sponsored) as last_sponsored_at,
        avg(engagement_rate) filter (where is_sponsored) as sponsored_engagement_rate_30d_mean,
        avg(engagement_rate) filter (where not is_sponsored) as organic_engagement_rate_30d_mean,
    from posts
    group by platform, account_id
)

select * from final
