-- grain: one row per as-of instant per scope (a niche or a brand) per candidate account
-- key: as_of, scope_type, scope, platform, account_id
-- not_null: as_of, scope_type, scope, platform, account_id, score, scope_rank, reason, flags
-- check: scope_type in ('niche', 'brand')
-- check: score between 0 and 1
-- check: engagement_part between 0 and 1 and fit_part between 0 and 1
-- check: authenticity_part between 0 and 1 and activity_part between 0 and 1
with engagement as (
    select * from marts.account_engagement
    where as_of = getvariable('as_of')
        and engagement_rate_30d_mean is not null
        and status = 'active'
),

peers as (
    select * from marts.account_peer_position
    where as_of = getvariable('as_of')
),

authenticity as (
    select * from marts.account_authenticity
    where as_of = getvariable('as_of')
),

niche_scopes as (
    select
        'niche' as scope_type,
        n.niche as scope,
        n.niche_label as scope_label,
        n.platform,
        n.account_id,
        n.niche_share as fit,
        format(
            '{:.0f}% of {} own posts in 30 days on {}',
            n.niche_share * 100, n.own_posts_30d, lower(n.niche_label)
        ) as fit_reason,
    from marts.account_niches as n
    inner join engagement as e
        on n.platform = e.platform and n.account_id = e.account_id
    where n.as_of = getvariable('as_of')
        and n.niche_posts_30d > 0
        and n.niche_share >= config.setting('candidates.min_niche_share')
        and e.tier = (select ct.tier from config.candidate_tier as ct)
),

brand_scopes as (
    select
        'brand' as scope_type,
        b.brand as scope,
        brands.label as scope_label,
        b.platform,
        b.account_id,
        b.brand_fit as fit,
        if(
            b.excluded_posts_90d > 0,
            format(
                'brand fit 0: excluded terms ({}) in {} of its posts of the last 90 days',
                array_to_string(b.excluded_terms, ', '), b.excluded_posts_90d
            ),
            format(
                'brand fit {:.2f}: {:.0f}% of own posts in its niches, {:.0f}% with its terms',
                b.brand_fit, b.niche_fit * 100, b.must_have_fit * 100
            )
        ) as fit_reason,
    from marts.brand_fit as b
    inner join config.brands as brands on b.brand = brands.brand
    inner join engagement as e
        on b.platform = e.platform and b.account_id = e.account_id
    where b.as_of = getvariable('as_of')
        and (b.brand_fit > 0 or b.excluded_posts_90d > 0)
),

scopes as (
    select * from niche_scopes
    union all
    select * from brand_scopes
),

parts as (
    select
        getvariable('as_of') as as_of,
        s.scope_type,
        s.scope,
        s.scope_label,
        s.platform,
        s.account_id,
        e.handle,
        e.followers,
        e.tier,
        e.own_posts_30d,
        e.engagement_rate_30d_mean,
        e.engagement_rate_30d_median,
        p.peer_group,
        p.peer_count,
        p.peer_median_rate,
        p.engagement_lift,
        a.follower_growth_30d,
        a.authenticity_score,
        a.flags,
        a.flag_reasons,
        p.engagement_percentile as engagement_part,
        s.fit as fit_part,
        a.authenticity_score / 100 as authenticity_part,
        least(e.own_posts_30d / config.setting('candidates.target_posts_30d'), 1.0)
            as activity_part,
        s.fit_reason,
    from scopes as s
    inner join engagement as e on s.platform = e.platform and s.account_id = e.account_id
    inner join peers as p on s.platform = p.platform and s.account_id = p.account_id
    inner join authenticity as a on s.platform = a.platform and s.account_id = a.account_id
),

-- a weighted mean of the parts, scaled by authenticity: doubtful numbers count less
weighted as (
    select
        *,
        (
            config.setting('candidates.weights.engagement') * engagement_part
            + config.setting('candidates.weights.niche') * fit_part
            + config.setting('candidates.weights.activity') * activity_part
        ) / (
            config.setting('candidates.weights.engagement')
            + config.setting('candidates.weights.niche')
            + config.setting('candidates.weights.activity')
        ) * authenticity_part as score,
    from parts
),

final as (
    select
        * exclude (fit_reason),
        row_number() over (
            partition by scope_type, scope order by score desc, platform asc, account_id asc
        ) as scope_rank,
        concat_ws('; ',
            format(
                'ER {:.2f}% = {}× the {} median ({} {})',
                engagement_rate_30d_mean * 100,
                coalesce(round(engagement_lift, 1)::varchar, 'n/a'),
                peer_group,
                peer_count,
                if(peer_count = 1, 'peer', 'peers')
            ),
            fit_reason,
            case
                when len(flags) > 0 then null
                when follower_growth_30d is null then null
                when follower_growth_30d >= 0
                    then format('steady growth, followers {:+.1f}% in 30 days',
                        follower_growth_30d * 100)
                else format('followers {:+.1f}% in 30 days', follower_growth_30d * 100)
            end,
            if(len(flags) > 0, 'FLAGGED: ' || flag_reasons, null)
        ) as reason,
    from weighted
)

select * from final
