-- grain: one row per as-of instant per platform, tier and niche ('*' = every niche)
-- key: as_of, platform, tier, niche
-- not_null: as_of, platform, tier, niche, peer_count, engagement_rate_p50
-- check: engagement_rate_p10 <= engagement_rate_p50 and engagement_rate_p50 <= engagement_rate_p90
with rated as (
    select * from marts.account_engagement
    where as_of = getvariable('as_of')
        and engagement_rate_30d_mean is not null
        and tier is not null
),

primary_niches as (
    select platform, account_id, niche, from marts.account_niches
    where as_of = getvariable('as_of') and is_primary_niche
),

with_niche as (
    select rated.*, primary_niches.niche,
    from rated
    left join primary_niches
        on rated.platform = primary_niches.platform
        and rated.account_id = primary_niches.account_id
),

-- every account once in its platform × tier group, and once more in its niche's group
groups as (
    select * replace ('*' as niche) from with_niche
    union all
    select * from with_niche
    where niche is not null
),

final as (
    select
        getvariable('as_of') as as_of,
        platform,
        tier,
        niche,
        count(*) as peer_count,
        quantile_cont(engagement_rate_30d_mean, 0.10) as engagement_rate_p10,
        quantile_cont(engagement_rate_30d_mean, 0.25) as engagement_rate_p25,
        quantile_cont(engagement_rate_30d_mean, 0.50) as engagement_rate_p50,
        quantile_cont(engagement_rate_30d_mean, 0.75) as engagement_rate_p75,
        quantile_cont(engagement_rate_30d_mean, 0.90) as engagement_rate_p90,
        median(likes_per_comment_30d) as likes_per_comment_p50,
    from groups
    group by platform, tier, niche
    -- niche groups only once they are large enough to mean something
    having niche = '*' or count(*) >= config.setting('benchmarks.min_niche_peers')
)

select * from final
