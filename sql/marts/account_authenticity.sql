-- grain: one row per as-of instant per tracked account
-- key: as_of, platform, account_id
-- not_null: as_of, platform, account_id, authenticity_score, flags, growth_judged
-- not_null: follower_spike, robust_z_spike, follower_jump
-- check: authenticity_score between 0 and 100
-- check: growth_days >= 0
-- check: follower_spike = (robust_z_spike or follower_jump)
-- check: growth_judged or growth_reason like 'growth not yet judged (%'
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

-- read where used: materialized, this CTE (read four times) would copy the 90 days' rows
growth as not materialized (
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

-- each growth day's relative gain, in the tier its account was in before the gain
-- (read twice, as `growth` is: copying its 1.8 M rows at 5 M posts cost more than the join)
growth_in_tier as not materialized (
    select
        growth.*,
        tiers.tier as prev_tier,
        growth.gain_per_day / growth.prev_followers as relative_gain_per_day,
    from growth
    -- one condition (`is true`): DuckDB loops over the few tiers, where the bounds as join
    -- conditions had it sort the 90 days' rows for a range join (2 s a day at 5 M posts)
    inner join config.tiers as tiers
        on (
            growth.prev_followers >= tiers.min_followers
            and (tiers.max_followers is null or growth.prev_followers < tiers.max_followers)
        ) is true
    where growth.prev_followers > 0
),

-- a tier's normal growth: the median relative gain a day over all its accounts' days,
-- once enough accounts define it
tier_growth as (
    select
        platform,
        prev_tier as tier,
        if(
            count(distinct account_id) >= config.setting('authenticity.jump.min_tier_accounts'),
            median(relative_gain_per_day),
            null
        ) as tier_relative_gain_per_day,
    from growth_in_tier
    group by platform, prev_tier
),

-- a jump is judged from the first two snapshots that straddle it, whatever the history
jump_days as (
    select
        g.platform,
        g.account_id,
        g.day,
        g.gain,
        g.days_since_prev,
        g.prev_followers,
        g.followers,
        g.prev_observed_at,
        g.observed_at,
        g.relative_gain_per_day,
        g.platform || '/' || g.prev_tier as tier_group,
        tg.tier_relative_gain_per_day,
        -- tier_lift × the tier's norm, never below min_relative (greatest skips a NULL)
        greatest(
            config.setting('authenticity.jump.min_relative'),
            config.setting('authenticity.jump.tier_lift') * tg.tier_relative_gain_per_day
        ) as jump_bar,
    from growth_in_tier as g
    left join tier_growth as tg on g.platform = tg.platform and g.prev_tier = tg.tier
    where config.setting('authenticity.jump.enabled') = 1
        and g.day >= (getvariable('as_of') - interval 30 days)::date
        and g.gain_per_day >= config.setting('authenticity.jump.min_gain')
),

-- the strongest jump of each account in the last 30 days
jumps as (
    select * from jump_days
    where relative_gain_per_day >= jump_bar
    qualify row_number() over (
        partition by platform, account_id order by relative_gain_per_day desc, day desc
    ) = 1
),

-- the evidence the posts carry: bought followers do not engage, so the rate per follower
-- falls after the jump; followers won by a shout-out or a viral post engage and keep it
jump_evidence as (
    select
        jumps.platform,
        jumps.account_id,
        median(posts.engagement_rate) filter (
            where posts.created_at < jumps.prev_observed_at
        )::double as rate_before_jump,
        count(posts.engagement_rate) filter (
            where posts.created_at < jumps.prev_observed_at
        ) as rated_posts_before_jump,
        -- exact decimal sums, so the spread is the same to the digit on every rerun
        sum(posts.engagement_rate) filter (
            where posts.created_at < jumps.prev_observed_at
        ) as rate_sum_before_jump,
        sum(posts.engagement_rate * posts.engagement_rate) filter (
            where posts.created_at < jumps.prev_observed_at
        ) as rate_square_sum_before_jump,
        median(posts.engagement_rate) filter (
            where posts.created_at >= jumps.observed_at
        )::double as rate_after_jump,
        count(posts.engagement_rate) filter (
            where posts.created_at >= jumps.observed_at
        ) as rated_posts_after_jump,
    from jumps
    inner join intermediate.int_own_posts as posts
        on jumps.platform = posts.platform and jumps.account_id = posts.account_id
    where posts.created_at >= jumps.prev_observed_at - interval 30 days
    group by jumps.platform, jumps.account_id
),

-- the two rates the posts would show: kept (the new followers engage like the others) or
-- diluted by the jump (none of them engages); the midpoint between them decides
jump_rates as (
    select
        jumps.*,
        ev.rate_before_jump,
        ev.rate_after_jump,
        coalesce(ev.rated_posts_before_jump, 0) as rated_posts_before_jump,
        coalesce(ev.rated_posts_after_jump, 0) as rated_posts_after_jump,
        ev.rate_before_jump * (1 + jumps.prev_followers / jumps.followers) / 2 as rate_midpoint,
        -- the sample standard deviation of the rates before, from the exact sums
        if(ev.rated_posts_before_jump >= 2, sqrt(greatest(
            (ev.rate_square_sum_before_jump
                - ev.rate_sum_before_jump ** 2 / ev.rated_posts_before_jump)::double
            / (ev.rated_posts_before_jump - 1),
            0
        )), null) as rate_sd_before_jump,
        -- half the gap between kept and diluted, in standard errors of the difference of
        -- the two sides (each post's spread taken from the rates before)
        ev.rate_before_jump * (1 - jumps.prev_followers / jumps.followers) / 2
        / (rate_sd_before_jump * sqrt(
            1 / ev.rated_posts_before_jump + 1 / ev.rated_posts_after_jump
        )) as jump_evidence_z,
    from jumps
    left join jump_evidence as ev
        on jumps.platform = ev.platform and jumps.account_id = ev.account_id
),

-- engaged (the jump is explained): enough rated posts on each side, the rate after at or
-- above the midpoint, and the posts able to tell: the midpoint jump.evidence_z standard
-- errors from each rate (a steady rate, with no spread, always can); a rate under the
-- midpoint is diluted, as bought followers leave it
judged_jumps as (
    select
        *,
        case
            when rated_posts_before_jump < config.setting('authenticity.jump.min_posts_each_side')
                or rated_posts_after_jump
                < config.setting('authenticity.jump.min_posts_each_side')
                or coalesce(rate_before_jump, 0) <= 0
                then 'too few posts'
            when rate_after_jump < rate_midpoint then 'diluted'
            -- rates before that do not vary at all give infinity: nothing to doubt
            when jump_evidence_z
                >= config.setting('authenticity.jump.evidence_z')
                then 'engaged'
            else 'inconclusive'
        end as jump_evidence,
    from jump_rates
),

flagged as (
    select
        accounts.platform,
        accounts.account_id,
        accounts.handle,
        coalesce(growth_stats.growth_days, 0) as growth_days,
        coalesce(growth_stats.growth_days, 0) >= config.setting('authenticity.min_growth_days')
            as growth_judged,
        spikes.max_growth_z_30d,
        spikes.spike_day,
        spikes.spike_gain,
        jumps.day as jump_day,
        jumps.gain as jump_gain,
        jumps.days_since_prev as jump_days_since_prev,
        jumps.relative_gain_per_day as jump_relative_gain_per_day,
        jumps.tier_group as jump_tier_group,
        jumps.tier_relative_gain_per_day,
        jumps.jump_bar,
        jumps.rate_before_jump,
        jumps.rate_after_jump,
        jumps.rated_posts_before_jump,
        jumps.rated_posts_after_jump,
        jumps.rate_midpoint,
        jumps.rate_sd_before_jump,
        jumps.jump_evidence_z,
        jumps.jump_evidence,
        jumps.jump_evidence = 'engaged' as jump_explained,
        (trend.followers_now - trend.followers_30d_ago) / nullif(trend.followers_30d_ago, 0)
            as follower_growth_30d,
        engagement.likes_per_comment_30d,
        tier_peers.likes_per_comment_p50 as peer_likes_per_comment,
        engagement.engagement_cv_30d,
        engagement.following,
        engagement.followers,
        spikes.spike_day is not null
        and coalesce(growth_stats.growth_days, 0) >= config.setting('authenticity.min_growth_days')
            as robust_z_spike,
        coalesce(jumps.jump_evidence <> 'engaged', false) as follower_jump,
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
    left join judged_jumps as jumps
        on accounts.platform = jumps.platform and accounts.account_id = jumps.account_id
),

spike_flags as (
    select *, robust_z_spike or follower_jump as follower_spike,
    from flagged
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
        -- too short a history to judge growth: a spike may hide in what was not observed
        if(growth_judged, 0, config.setting('authenticity.unjudged_growth_penalty'))
            as unjudged_growth_penalty,
        -- the jump's numbers and what the posts say about it, for the reasons below
        format(
            '{:+.1f}% {}; {}',
            jump_relative_gain_per_day * 100,
            if(jump_days_since_prev = 1, 'in a day',
                format('a day over {} days', jump_days_since_prev)),
            coalesce(
                format('typical for {}: {:+.2f}% a day',
                    jump_tier_group, tier_relative_gain_per_day * 100),
                format('jump bar {:.1f}% a day', jump_bar * 100)
            )
        ) as jump_detail,
        if(
            rated_posts_before_jump > 0 and rated_posts_after_jump > 0,
            format('engagement per follower {:.2f}% before, {:.2f}% after{}',
                rate_before_jump * 100, rate_after_jump * 100,
                if(jump_evidence = 'inconclusive', ', too few posts to tell', '')),
            null
        ) as jump_evidence_detail,
    from spike_flags
),

final as (
    select
        getvariable('as_of') as as_of,
        * exclude (jump_detail, jump_evidence_detail),
        greatest(
            100 - follower_spike_penalty - likes_without_comments_penalty
            - erratic_engagement_penalty - following_penalty - unjudged_growth_penalty,
            0
        ) as authenticity_score,
        list_filter([
            if(follower_spike, 'follower_spike', null),
            if(likes_without_comments, 'likes_without_comments', null),
            if(erratic_engagement, 'erratic_engagement', null),
            if(following_far_above_followers, 'following_far_above_followers', null)
        ], x -> x is not null) as flags,
        nullif(concat_ws('; ',
            -- one clause for the flagged day: the jump's numbers and the posts' evidence,
            -- with the robust z when that rule caught the same day
            if(follower_spike, format('follower spike: +{:,} on {} ({})',
                if(follower_jump, jump_gain, spike_gain),
                if(follower_jump, jump_day, spike_day),
                concat_ws('; ',
                    if(robust_z_spike and (not follower_jump or spike_day = jump_day),
                        format('robust z {:.1f}', max_growth_z_30d), null),
                    if(follower_jump or spike_day = jump_day, jump_detail, null),
                    if(follower_jump or spike_day = jump_day, jump_evidence_detail, null)
                )), null),
            if(robust_z_spike and follower_jump and spike_day <> jump_day,
                format('follower spike: +{:,} on {} (robust z {:.1f})',
                    spike_gain, spike_day, max_growth_z_30d), null),
            if(likes_without_comments, format(
                'likes without comments: {:.0f} likes per comment vs {:.0f} for peers',
                likes_per_comment_30d, peer_likes_per_comment), null),
            if(erratic_engagement, format(
                'erratic engagement: rate varies {:.1f}× its mean', engagement_cv_30d), null),
            if(following_far_above_followers, format(
                'follows {:,} accounts with {:,} followers', following, followers), null)
        ), '') as flag_reasons,
        -- what the candidate reason says about growth: never praise growth not judged
        nullif(concat_ws('; ',
            if(not growth_judged, format('growth not yet judged ({} {})',
                growth_days, if(growth_days = 1, 'day', 'days')), null),
            if(jump_explained and not follower_spike, format(
                'followers +{:,} on {} ({}), not flagged: {}',
                jump_gain, jump_day, jump_detail, jump_evidence_detail), null),
            case
                when not growth_judged or len(flags) > 0 then null
                when follower_growth_30d is null then null
                when follower_growth_30d >= 0 and not coalesce(jump_explained, false)
                    then format('steady growth, followers {:+.1f}% in 30 days',
                        follower_growth_30d * 100)
                else format('followers {:+.1f}% in 30 days', follower_growth_30d * 100)
            end
        ), '') as growth_reason,
    from penalised
)

select * from final
