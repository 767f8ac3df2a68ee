-- grain: one row per as-of instant per tracked account
-- key: as_of, platform, account_id
-- not_null: as_of, platform, account_id, handle, own_posts_30d
-- check: engagement_rate_30d_mean is null or engagement_rate_30d_mean >= 0
-- check: (engagement_rate_30d_mean is null) = (engagement_null_reason is not null)
with accounts as (
    select * from staging.stg_accounts
),

followers as (
    select * from intermediate.int_account_followers
),

post_stats as (
    select
        platform,
        account_id,
        count(*) as own_posts_30d,
        count(engagement_rate) as rated_posts_30d,
        avg(engagement_rate) as mean_rate,
        median(engagement_rate)::double as median_rate,
        sum(engagements) as engagements_30d,
    from intermediate.int_post_engagement
    group by platform, account_id
),

joined as (
    select
        getvariable('as_of') as as_of,
        accounts.platform,
        accounts.account_id,
        accounts.handle,
        accounts.status,
        followers.followers,
        followers.follower_precision,
        followers.tier,
        coalesce(post_stats.own_posts_30d, 0) as own_posts_30d,
        coalesce(post_stats.rated_posts_30d, 0) as rated_posts_30d,
        post_stats.engagements_30d,
        post_stats.mean_rate,
        post_stats.median_rate,
    from accounts
    left join followers
        on accounts.platform = followers.platform and accounts.account_id = followers.account_id
    left join post_stats
        on accounts.platform = post_stats.platform
        and accounts.account_id = post_stats.account_id
),

guarded as (
    select
        *,
        case
            when followers is null then 'follower count hidden or unknown'
            when own_posts_30d < config.setting('min_own_posts_30d')
                then format(
                    'only {} own posts in 30 days (minimum {})',
                    own_posts_30d, config.setting('min_own_posts_30d')::integer
                )
            when rated_posts_30d = 0 then 'no post has complete engagement counts'
        end as engagement_null_reason,
    from joined
),

final as (
    select
        as_of,
        platform,
        account_id,
        handle,
        status,
        followers,
        follower_precision,
        tier,
        own_posts_30d,
        rated_posts_30d,
        engagements_30d,
        case when engagement_null_reason is null then mean_rate end as engagement_rate_30d_mean,
        case
            when engagement_null_reason is null then median_rate
        end as engagement_rate_30d_median,
        engagement_null_reason,
    from guarded
)

select * from final
