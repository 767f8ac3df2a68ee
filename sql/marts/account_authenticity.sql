-- grain: one row per as-of instant per tracked account
-- key: as_of, platform, account_id
-- not_null: as_of, platform, account_id, authenticity_score, flags
-- check: authenticity_score between 0 and 100
-- check: growth_days >= 0
with accounts as (
    select platform, account_id, handle, from staging.stg_accounts
    -- as of: an account first seen later did not exist for this run
    where first_seen_at < getvariable('as_of')
),

engagement as (
    select * from marts.account_engagement
    where as_of = getvariable('as_of')
),

tier_peers as (
    select platform, tier, likes_per_comment_p50, peer_count,
    from marts.tier_benchmarks
    where as_of = getvariable('as_of') and niche = '*'
),

growth as (
    select * from intermediate.int_account_daily_growth
),

growth_stats as (
    select
        platform,
        account_id,
        count(*) as growth_days,
        median(gain_per_day) as median_gain_per_day,
        mad(gain_per_day) as mad_gain_per_day,
    from growth
    group by platform, account_id
),

-- robust z-score of each day's growth against the account's own 90 days; a MAD floor of
-- one follower a day keeps a perfectly steady account from dividing by zero
scored_days as (
    select
        growth.*,
        (growth.gain_per_day - stats.median_gain_per_day)
        / (1.4826 * greatest(stats.mad_gain_per_day, 1)) as robust_z,
    from growth
    inner join growth_stats as stats
        on growth.platform = stats.platform and growth.account_id = stats.account_id
    where growth.day >= (getvariable('as_of') - interval 30 days)::date
),

spikes as (
    select
        platform,
        account_id,
        max(robust_z) as max_growth_z_30d,
        arg_max(day, robust_z) as spike_day,
        arg_max(gain, robust_z) as spike_gain,
    from scored_days
    where robust_z > config.setting('authenticity.spike_robust_z')
        and gain >= config.setting('authenticity.spike_min_gain')
    group by platform, account_id
),

trend as (
    select
        platform,
        account_id,
        arg_max(followers, day) as followers_now,
        arg_min(prev_followers, day) filter (
            where day > (getvariable('as_of') - interval 30 days)::date
        ) as followers_30d_ago,
    from growth
    group by platform, account_id
),

flagged as (
    select
        accounts.platform,
        accounts.account_id,
        accounts.handle,
        coalesce(growth_stats.growth_days, 0) as growth_days,
        spikes.max_growth_z_30d,
        spikes.spike_day,
        spikes.spike_gain,
        (trend.followers_now - trend.followers_30d_ago) / nullif(trend.followers_30d_ago, 0)
            as follower_growth_30d,
        engagement.likes_per_comment_30d,
        tier_peers.likes_per_comment_p50 as peer_likes_per_comment,
        engagement.engagement_cv_30d,
        engagement.following,
        engagement.followers,
        coalesce(growth_stats.growth_days, 0) >= config.setting('authenticity.min_growth_days')
            and spikes.spike_day is not null as follower_spike,
        coalesce(
            engagement.likes_per_comment_30d
            > config.setting('authenticity.like_comment_lift') * tier_peers.likes_per_comment_p50,
            false
        ) as likes_without_comments,
        coalesce(
            engagement.engagement_cv_30d > config.setting('authenticity.erratic_cv'), false
        ) as erratic_engagement,
        coalesce(
            engagement.following
            > config.setting('authenticity.following_ratio') * engagement.followers
            and engagement.following >= config.setting('authenticity.following_min'),
            false
        ) as following_far_above_followers,
    from accounts
    left join engagement
        on accounts.platform = engagement.platform and accounts.account_id = engagement.account_id
    left join tier_peers
        on engagement.platform = tier_peers.platform and engagement.tier = tier_peers.tier
    left join growth_stats
        on accounts.platform = growth_stats.platform
        and accounts.account_id = growth_stats.account_id
    left join spikes
        on accounts.platform = spikes.platform and accounts.account_id = spikes.account_id
    left join trend
        on accounts.platform = trend.platform and accounts.account_id = trend.account_id
),

penalised as (
    select
        *,
        if(follower_spike, config.setting('authenticity.penalties.follower_spike'), 0)
            as follower_spike_penalty,
        if(likes_without_comments,
            config.setting('authenticity.penalties.likes_without_comments'), 0)
            as likes_without_comments_penalty,
        if(erratic_engagement, config.setting('authenticity.penalties.erratic_engagement'), 0)
            as erratic_engagement_penalty,
        if(following_far_above_followers,
            config.setting('authenticity.penalties.following_far_above_followers'), 0)
            as following_penalty,
    from flagged
),

final as (
    select
        getvariable('as_of') as as_of,
        *,
        greatest(
            100 - follower_spike_penalty - likes_without_comments_penalty
            - erratic_engagement_penalty - following_penalty,
            0
        ) as authenticity_score,
        list_filter([
            if(follower_spike, 'follower_spike', null),
            if(likes_without_comments, 'likes_without_comments', null),
            if(erratic_engagement, 'erratic_engagement', null),
            if(following_far_above_followers, 'following_far_above_followers', null)
        ], x -> x is not null) as flags,
        nullif(concat_ws('; ',
            if(follower_spike, format('follower spike: +{:,} on {} (robust z {:.1f})',
                spike_gain, spike_day, max_growth_z_30d), null),
            if(likes_without_comments, format(
                'likes without comments: {:.0f} likes per comment vs {:.0f} for peers',
                likes_per_comment_30d, peer_likes_per_comment), null),
            if(erratic_engagement, format(
                'erratic engagement: rate varies {:.1f}× its mean', engagement_cv_30d), null),
            if(following_far_above_followers, format(
                'follows {:,} accounts with {:,} followers', following, followers), null)
        ), '') as flag_reasons,
    from penalised
)

select * from final
