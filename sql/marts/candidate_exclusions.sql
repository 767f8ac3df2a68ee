-- grain: one row per as-of instant per scope (a niche or a brand) per account that matched it at all: a niche post in 30 days, or for a brand a fit above 0 or an excluded post
-- key: as_of, scope_type, scope, platform, account_id
-- not_null: as_of, scope_type, scope, scope_label, platform, account_id, fit, fit_reason
-- not_null: is_candidate, exclusion_rules, min_own_posts_30d
-- check: scope_type in ('niche', 'brand')
-- check: is_candidate = (len(exclusion_rules) = 0)
-- check: is_candidate = (exclusion_reason is null)
-- check: fit between 0 and 1
with engagement as (
    select * from marts.account_engagement
    where as_of = getvariable('as_of')
),

authenticity as (
    select * from marts.account_authenticity
    where as_of = getvariable('as_of')
),

required as (
    select
        (select ct.tier from config.candidate_tier as ct) as required_tier,
        (
            select w.min_own_posts from config.windows as w
            where w.window_days = 30
        ) as min_own_posts_30d,
        config.setting('candidates.min_niche_share') as min_niche_share,
        config.setting('candidates.min_authenticity_score') as min_authenticity_score,
),

niche_scopes as (
    select
        'niche' as scope_type,
        n.niche as scope,
        n.niche_label as scope_label,
        n.platform,
        n.account_id,
        n.niche_posts_30d,
        n.niche_share,
        null::double as brand_fit,
        n.niche_share as fit,
        format(
            '{:.0f}% of {} own posts in 30 days on {}',
            n.niche_share * 100, n.own_posts_30d, lower(n.niche_label)
        ) as fit_reason,
    from marts.account_niches as n
    where n.as_of = getvariable('as_of')
        and n.niche_posts_30d > 0
),

-- a brand's eligible accounts (its platforms and tiers, active, with posts) in brand_fit
brand_scopes as (
    select
        'brand' as scope_type,
        b.brand as scope,
        brands.label as scope_label,
        b.platform,
        b.account_id,
        null::bigint as niche_posts_30d,
        null::double as niche_share,
        b.brand_fit,
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
    where b.as_of = getvariable('as_of')
        -- an excluded account stays visible, with fit 0 and the terms as its reason
        and (b.brand_fit > 0 or b.excluded_posts_90d > 0)
),

scopes as (
    select * from niche_scopes
    union all
    select * from brand_scopes
),

-- each rule is true when it excludes the account from the scope
rules as (
    select
        s.*,
        e.handle,
        e.status,
        e.followers,
        e.follower_precision,
        e.tier,
        if(s.scope_type = 'niche', r.required_tier, null) as required_tier,
        e.own_posts_30d,
        r.min_own_posts_30d,
        e.engagement_rate_30d_mean,
        e.engagement_null_reason_30d,
        if(s.scope_type = 'niche', r.min_niche_share, null) as min_niche_share,
        a.authenticity_score,
        r.min_authenticity_score,
        a.flags,
        a.flag_reasons,
        -- posts of an author no one tracks, seen through a tracked account's repost
        e.account_id is null as not_tracked,
        coalesce(e.status <> 'active', false) as inactive,
        e.account_id is not null and e.followers is null as followers_hidden,
        coalesce(s.scope_type = 'niche' and e.tier <> r.required_tier, false) as outside_tier,
        coalesce(e.own_posts_30d < r.min_own_posts_30d, false) as too_few_posts,
        -- a rate is missing for hidden followers, too few posts, or no complete counts
        coalesce(
            e.engagement_rate_30d_mean is null
            and e.followers is not null
            and e.own_posts_30d >= r.min_own_posts_30d,
            false
        ) as no_rated_posts,
        coalesce(s.niche_share < r.min_niche_share, false) as niche_share_below_minimum,
        coalesce(a.authenticity_score < r.min_authenticity_score, false)
            as authenticity_below_minimum,
    from scopes as s
    cross join required as r
    left join engagement as e on s.platform = e.platform and s.account_id = e.account_id
    left join authenticity as a on s.platform = a.platform and s.account_id = a.account_id
),

listed as (
    select
        *,
        list_filter([
            if(not_tracked, 'not_tracked', null),
            if(inactive, 'inactive', null),
            if(followers_hidden, 'followers_hidden', null),
            if(outside_tier, 'outside_tier', null),
            if(too_few_posts, 'too_few_posts', null),
            if(no_rated_posts, 'no_rated_posts', null),
            if(niche_share_below_minimum, 'niche_share_below_minimum', null),
            if(authenticity_below_minimum, 'authenticity_below_minimum', null)
        ], x -> x is not null) as exclusion_rules,
    from rules
),

final as (
    select
        getvariable('as_of') as as_of,
        scope_type,
        scope,
        scope_label,
        platform,
        account_id,
        handle,
        len(exclusion_rules) = 0 as is_candidate,
        exclusion_rules,
        nullif(concat_ws('; ',
            if(not_tracked,
                'not a tracked account: its posts were seen only in reposts by others', null),
            if(inactive, format('account {}', status), null),
            if(followers_hidden, 'follower count hidden or unknown', null),
            if(outside_tier, format(
                'tier {} ({:,} followers), candidates must be {}',
                tier, followers, required_tier), null),
            if(too_few_posts, format(
                'only {} own posts in 30 days (minimum {})',
                own_posts_30d, min_own_posts_30d), null),
            if(no_rated_posts, 'no own post of the 30 days has complete engagement counts',
                null),
            if(niche_share_below_minimum, format(
                'niche share {:.0f}%: {} of {} own posts in 30 days on {}, '
                || 'below the {:.0f}% minimum',
                niche_share * 100, niche_posts_30d, own_posts_30d, lower(scope_label),
                min_niche_share * 100), null),
            if(authenticity_below_minimum, format(
                'authenticity {:.0f} below the minimum {:.0f}{}',
                authenticity_score, min_authenticity_score,
                coalesce(' (' || flag_reasons || ')', '')), null)
        ), '') as exclusion_reason,
        fit,
        fit_reason,
        niche_posts_30d,
        niche_share,
        min_niche_share,
        brand_fit,
        status,
        followers,
        follower_precision,
        tier,
        required_tier,
        own_posts_30d,
        min_own_posts_30d,
        engagement_rate_30d_mean,
        engagement_null_reason_30d,
        authenticity_score,
        min_authenticity_score,
        coalesce(flags, []) as flags,
        flag_reasons,
    from listed
)

select * from final
