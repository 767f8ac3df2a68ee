-- grain: one row per as-of instant per tracked account
-- key: as_of, platform, account_id
-- not_null: as_of, platform, account_id, handle, own_posts_7d, own_posts_30d, own_posts_90d
-- check: own_posts_7d <= own_posts_30d and own_posts_30d <= own_posts_90d
-- check: engagement_rate_30d_mean is null or engagement_rate_30d_mean >= 0
-- check: (engagement_rate_7d_mean is null) = (engagement_null_reason_7d is not null)
-- check: (engagement_rate_30d_mean is null) = (engagement_null_reason_30d is not null)
-- check: (engagement_rate_90d_mean is null) = (engagement_null_reason_90d is not null)
-- check: top_post_share_7d is null or top_post_share_7d between 0 and 1
-- check: top_post_share_30d is null or top_post_share_30d between 0 and 1
-- check: top_post_share_90d is null or top_post_share_90d between 0 and 1
with accounts as (
    select * from staging.stg_accounts
    -- as of: an account first seen later did not exist for this run
    where first_seen_at < getvariable('as_of')
),

followers as (
    select * from intermediate.int_account_followers
),

posts as (
    select * from intermediate.int_own_posts
),

windows as (
    select window_days, min_own_posts from config.windows
),

per_window as (
    select
        posts.platform,
        posts.account_id,
        windows.window_days,
        count(*) as own_posts,
        count(posts.engagement_rate) as rated_posts,
        -- engagement_rate is fixed-point: these sums are exact, so reruns agree to the digit
        sum(posts.engagement_rate) as rate_sum,
        sum(posts.engagement_rate * posts.engagement_rate) as rate_square_sum,
        median(posts.engagement_rate)::double as median_rate,
        sum(posts.engagements) as engagements,
        max(posts.engagements) as top_post_engagements,
        sum(posts.engagements) filter (where posts.views is not null) as engagements_with_views,
        sum(posts.views) as views,
        sum(posts.likes) as likes,
        sum(posts.comments) as comments,
    from posts
    inner join windows
        on posts.created_at >= getvariable('as_of') - to_days(windows.window_days)
    group by posts.platform, posts.account_id, windows.window_days
),

guarded as (
    select
        accounts.platform,
        accounts.account_id,
        windows.window_days,
        coalesce(per_window.own_posts, 0) as own_posts,
        per_window.rated_posts,
        per_window.rate_sum / per_window.rated_posts as mean_rate,
        per_window.median_rate,
        sqrt(greatest(
            per_window.rate_square_sum / per_window.rated_posts
            - (per_window.rate_sum / per_window.rated_posts) ** 2,
            0
        )) / nullif(per_window.rate_sum / per_window.rated_posts, 0) as rate_cv,
        per_window.engagements,
        per_window.top_post_engagements / nullif(per_window.engagements, 0) as top_post_share,
        per_window.engagements_with_views / nullif(per_window.views, 0) as view_rate,
        per_window.likes / (per_window.comments + 1) as likes_per_comment,
        case
            when followers.followers is null then 'follower count hidden or unknown'
            when coalesce(per_window.own_posts, 0) < windows.min_own_posts
                then format(
                    'only {} own posts in {} days (minimum {})',
                    coalesce(per_window.own_posts, 0), windows.window_days, windows.min_own_posts
                )
            when per_window.rated_posts = 0 then 'no post has complete engagement counts'
        end as null_reason,
    from accounts
    cross join windows
    left join followers
        on accounts.platform = followers.platform and accounts.account_id = followers.account_id
    left join per_window
        on accounts.platform = per_window.platform
        and accounts.account_id = per_window.account_id
        and windows.window_days = per_window.window_days
),

pivoted as (
    select
        platform,
        account_id,
        max(own_posts) filter (where window_days = 7) as own_posts_7d,
        max(own_posts) filter (where window_days = 30) as own_posts_30d,
        max(own_posts) filter (where window_days = 90) as own_posts_90d,
        max(mean_rate) filter (where window_days = 7 and null_reason is null) as er_7d_mean,
        max(median_rate) filter (where window_days = 7 and null_reason is null) as er_7d_median,
        max(mean_rate) filter (where window_days = 30 and null_reason is null) as er_30d_mean,
        max(median_rate) filter (where window_days = 30 and null_reason is null) as er_30d_median,
        max(mean_rate) filter (where window_days = 90 and null_reason is null) as er_90d_mean,
        max(median_rate) filter (where window_days = 90 and null_reason is null) as er_90d_median,
        max(view_rate) filter (where window_days = 7 and null_reason is null) as view_rate_7d,
        max(rate_cv) filter (where window_days = 7 and null_reason is null) as cv_7d,
        max(top_post_share) filter (where window_days = 7 and null_reason is null) as top_7d,
        max(view_rate) filter (where window_days = 30 and null_reason is null) as view_rate_30d,
        max(rate_cv) filter (where window_days = 30 and null_reason is null) as cv_30d,
        max(top_post_share) filter (where window_days = 30 and null_reason is null) as top_30d,
        max(view_rate) filter (where window_days = 90 and null_reason is null) as view_rate_90d,
        max(rate_cv) filter (where window_days = 90 and null_reason is null) as cv_90d,
        max(top_post_share) filter (where window_days = 90 and null_reason is null) as top_90d,
        max(likes_per_comment) filter (where window_days = 30 and null_reason is null) as lpc_30d,
        max(engagements) filter (where window_days = 30) as engagements_30d,
        max(null_reason) filter (where window_days = 7) as reason_7d,
        max(null_reason) filter (where window_days = 30) as reason_30d,
        max(null_reason) filter (where window_days = 90) as reason_90d,
    from guarded
    group by platform, account_id
),

final as (
    select
        getvariable('as_of') as as_of,
        accounts.platform,
        accounts.account_id,
        accounts.handle,
        accounts.status,
        followers.followers,
        followers.following,
        followers.follower_precision,
        followers.tier,
        pivoted.own_posts_7d,
        pivoted.own_posts_30d,
        pivoted.own_posts_90d,
        pivoted.er_7d_mean::double as engagement_rate_7d_mean,
        pivoted.er_7d_median as engagement_rate_7d_median,
        pivoted.er_30d_mean::double as engagement_rate_30d_mean,
        pivoted.er_30d_median as engagement_rate_30d_median,
        pivoted.er_90d_mean::double as engagement_rate_90d_mean,
        pivoted.er_90d_median as engagement_rate_90d_median,
        pivoted.view_rate_7d::double as view_rate_7d,
        pivoted.cv_7d::double as engagement_cv_7d,
        pivoted.top_7d::double as top_post_share_7d,
        pivoted.view_rate_30d::double as view_rate_30d,
        pivoted.cv_30d::double as engagement_cv_30d,
        pivoted.top_30d::double as top_post_share_30d,
        pivoted.view_rate_90d::double as view_rate_90d,
        pivoted.cv_90d::double as engagement_cv_90d,
        pivoted.top_90d::double as top_post_share_90d,
        pivoted.lpc_30d::double as likes_per_comment_30d,
        pivoted.engagements_30d,
        pivoted.reason_7d as engagement_null_reason_7d,
        pivoted.reason_30d as engagement_null_reason_30d,
        pivoted.reason_90d as engagement_null_reason_90d,
    from accounts
    inner join pivoted
        on accounts.platform = pivoted.platform and accounts.account_id = pivoted.account_id
    left join followers
        on accounts.platform = followers.platform and accounts.account_id = followers.account_id
)

select * from final
