-- grain: one row per as-of instant per niche per candidate account
-- key: as_of, niche, platform, account_id
-- not_null: as_of, niche, platform, account_id, score, niche_rank, reason
-- check: score >= 0
-- check: engagement_part between 0 and 1 and niche_part between 0 and 1
-- check: activity_part between 0 and 1
with engagement as (
    select * from marts.account_engagement
    where as_of = getvariable('as_of')
),

-- peers: accounts of the same platform and tier that have an engagement rate
peers as (
    select
        *,
        cume_dist() over (
            partition by platform, tier order by engagement_rate_30d_mean
        ) as engagement_percentile,
        median(engagement_rate_30d_mean) over (partition by platform, tier) as peer_median_rate,
        count(*) over (partition by platform, tier) as peer_count,
    from engagement
    where engagement_rate_30d_mean is not null
),

in_niche as (
    select * from marts.account_niche_share
    where as_of = getvariable('as_of')
        and niche_posts_30d > 0
        and niche_share >= config.setting('min_niche_share')
),

scored as (
    select
        peers.as_of,
        in_niche.niche,
        in_niche.niche_label,
        peers.platform,
        peers.account_id,
        peers.handle,
        peers.followers,
        peers.tier,
        peers.own_posts_30d,
        in_niche.niche_posts_30d,
        in_niche.niche_share,
        peers.engagement_rate_30d_mean,
        peers.engagement_rate_30d_median,
        peers.peer_median_rate,
        peers.peer_count,
        peers.engagement_rate_30d_mean / nullif(peers.peer_median_rate, 0) as engagement_lift,
        peers.engagement_percentile as engagement_part,
        in_niche.niche_share as niche_part,
        least(peers.own_posts_30d / config.setting('target_posts_30d'), 1.0) as activity_part,
    from peers
    inner join in_niche
        on peers.platform = in_niche.platform and peers.account_id = in_niche.account_id
    where peers.status = 'active'
        and peers.tier = (select tier from config.candidate_tier)
),

weighted as (
    select
        *,
        config.setting('weight_engagement') * engagement_part
        + config.setting('weight_niche') * niche_part
        + config.setting('weight_activity') * activity_part as score,
    from scored
),

final as (
    select
        *,
        row_number() over (
            partition by niche order by score desc, platform, account_id
        ) as niche_rank,
        format(
            'ER {:.2f}% = {}× the {} {} median ({} {}); {:.0f}% of {} own posts in 30 days on {}',
            engagement_rate_30d_mean * 100,
            coalesce(round(engagement_lift, 1)::varchar, 'n/a'),
            platform,
            tier,
            peer_count,
            if(peer_count = 1, 'peer', 'peers'),
            niche_share * 100,
            own_posts_30d,
            lower(niche_label)
        ) as reason,
    from weighted
)

select * from final
