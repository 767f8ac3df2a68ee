-- grain: one row per as-of instant per account with own posts in the 90 days per niche
-- key: as_of, platform, account_id, niche
-- not_null: as_of, platform, account_id, niche, niche_posts_7d, niche_posts_30d, niche_posts_90d
-- check: niche_share is null or niche_share between 0 and 1
-- check: topic_stability is null or topic_stability between 0 and 1
-- check: niche_posts_7d <= niche_posts_30d and niche_posts_30d <= niche_posts_90d
with own_posts as (
    select
        platform,
        account_id,
        count(*) filter (where in_7d) as own_posts_7d,
        count(*) filter (where in_30d) as own_posts_30d,
        count(*) as own_posts_90d,
        -- the distinct weeks (week_index is 0-12) as bits: exact, and cheaper than a distinct
        bit_count(bit_or(1::bigint << week_index))::bigint as active_weeks_90d,
    from intermediate.int_own_posts
    group by platform, account_id
),

-- the matches are kept per post; the own posts of the window say which count as of this run
matches as (
    select
        posts.platform,
        posts.account_id,
        matches.niche,
        count(*) filter (where posts.in_7d) as niche_posts_7d,
        count(*) filter (where posts.in_30d) as niche_posts_30d,
        count(*) as niche_posts_90d,
        bit_count(bit_or(1::bigint << posts.week_index))::bigint as niche_weeks_90d,
    from intermediate.int_post_niche_matches as matches
    inner join intermediate.int_own_posts as posts
        on matches.platform = posts.platform and matches.post_id = posts.post_id
    where matches.niche is not null
        and matches.created_at >= getvariable('as_of') - interval 90 days
        and matches.created_at < getvariable('as_of')
    group by posts.platform, posts.account_id, matches.niche
),

joined as (
    select
        getvariable('as_of') as as_of,
        own_posts.platform,
        own_posts.account_id,
        niches.niche,
        niches.label as niche_label,
        coalesce(matches.niche_posts_7d, 0) as niche_posts_7d,
        coalesce(matches.niche_posts_30d, 0) as niche_posts_30d,
        coalesce(matches.niche_posts_90d, 0) as niche_posts_90d,
        own_posts.own_posts_30d,
        own_posts.own_posts_90d,
        own_posts.active_weeks_90d,
        coalesce(matches.niche_weeks_90d, 0) as niche_weeks_90d,
    from own_posts
    cross join config.niches as niches
    left join matches
        on own_posts.platform = matches.platform
        and own_posts.account_id = matches.account_id
        and niches.niche = matches.niche
),

final as (
    select
        *,
        niche_posts_30d / nullif(own_posts_30d, 0) as niche_share,
        niche_posts_7d / 7 as mentions_per_day_7d,
        niche_posts_30d / 30 as mentions_per_day_30d,
        -- above 1: the niche is mentioned faster lately than over the month
        (niche_posts_7d / 7) / nullif(niche_posts_30d / 30, 0) as mention_velocity_ratio,
        -- share of the weeks with own posts in which the account posted in this niche
        case
            when active_weeks_90d >= config.setting('niche.min_active_weeks')
                then niche_weeks_90d / active_weeks_90d
        end as topic_stability,
        niche_posts_30d > 0 and row_number() over (
            partition by platform, account_id
            order by niche_posts_30d desc, niche_posts_90d desc, niche asc
        ) = 1 as is_primary_niche,
    from joined
)

select * from final
