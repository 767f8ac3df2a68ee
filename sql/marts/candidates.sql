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

-- who is a candidate, and the fit, come from the exclusions mart: one set of rules
scopes as (
    select scope_type, scope, scope_label, platform, account_id, fit, fit_reason,
    from marts.candidate_exclusions
    where as_of = getvariable('as_of') and is_candidate
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
        a.growth_judged,
        a.growth_reason,
        p.platform_median_rate,
        p.platform_count,
        p.platform_lift,
        -- the lift over the platform's median on a log scale, not the tier percentile: the
        -- micro tier is mostly the very candidates being ranked, so its median and
        -- percentiles move with who is in it, and a niche ranks accounts of several
        -- platforms against each other (docs/signals.md, "Engagement part")
        case
            when p.platform_lift is null
                then if(e.engagement_rate_30d_mean > 0, 1.0, 0.5)
            when p.platform_lift = 0 then 0.0
            else greatest(0.0, least(1.0,
                0.5 + ln(p.platform_lift)
                / (2 * ln(config.setting('candidates.full_engagement_lift')))
            ))
        end as engagement_part,
        -- a niche part saturates at full_niche_share: beyond it purity earns nothing more,
        -- so among focused accounts engagement decides; a brand's fit counts as it is
        if(
            s.scope_type = 'niche',
            least(s.fit / config.setting('candidates.full_niche_share'), 1.0),
            s.fit
        ) as fit_part,
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
        * exclude (fit_reason, growth_reason),
        row_number() over (
            partition by scope_type, scope order by score desc, platform asc, account_id asc
        ) as scope_rank,
        concat_ws('; ',
            format(
                'ER {:.2f}% = {}× the {} median ({} {}), {}× the {} median',
                engagement_rate_30d_mean * 100,
                coalesce(round(engagement_lift, 1)::varchar, 'n/a'),
                peer_group,
                peer_count,
                if(peer_count = 1, 'peer', 'peers'),
                coalesce(round(platform_lift, 1)::varchar, 'n/a'),
                platform
            ),
            fit_reason,
            -- growth as far as it was judged (account_authenticity's growth_reason)
            growth_reason,
            if(len(flags) > 0, 'FLAGGED: ' || flag_reasons, null)
        ) as reason,
    from weighted
)

select * from final
