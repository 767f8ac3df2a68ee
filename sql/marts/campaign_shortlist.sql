-- grain: one row per as-of instant per campaign per candidate account that resembles one of its best performers and is not in it
-- key: as_of, campaign, platform, account_id
-- not_null: as_of, campaign, platform, account_id, niche, tier, engagement_rate_30d_mean, like_platform, like_handle, er_ratio, shortlist_rank, reason
-- check: er_ratio between 0.5 and 2
-- check: shortlist_rank >= 1
-- The next shortlist (docs/campaigns.md): a campaign's best performers are its creators
-- with a positive ROI. A niche candidate of marts.candidates at the same as_of looks like
-- one when it is in a niche that performer is a candidate in (or has the largest share of
-- its own posts in), has the same platform and tier, and a 30-day mean engagement rate
-- within half and twice the performer's. Accounts that are or were in the campaign are left
-- out. Each candidate is listed once, beside the best-ranked performer it resembles.
with performers as (
    select r.campaign, r.platform, r.handle, r.account_id, r.roi, r.roi_rank,
    from marts.campaign_creator_results as r
    where r.as_of = getvariable('as_of') and r.roi > 0 and r.account_id is not null
),

engagement as (
    select platform, account_id, tier, engagement_rate_30d_mean,
    from marts.account_engagement
    where as_of = getvariable('as_of')
),

-- the niches a performer counts in: where it is a candidate, else its largest share
performer_niches as (
    select p.campaign, p.platform, p.account_id, n.niche,
    from performers as p
    inner join marts.account_niches as n
        on p.platform = n.platform and p.account_id = n.account_id
    left join marts.candidates as c
        on c.as_of = getvariable('as_of')
        and c.scope_type = 'niche'
        and n.niche = c.scope
        and n.platform = c.platform
        and n.account_id = c.account_id
    where n.as_of = getvariable('as_of')
    qualify c.account_id is not null
        or (
            count(c.account_id) over (partition by p.campaign, p.platform, p.account_id) = 0
            and row_number() over (
                partition by p.campaign, p.platform, p.account_id
                order by n.niche_share desc nulls last, n.niche asc
            ) = 1
        )
),

matches as (
    select
        p.campaign,
        c.platform,
        c.account_id,
        c.handle,
        c.scope as niche,
        c.tier,
        c.engagement_rate_30d_mean,
        c.score,
        c.scope_rank,
        p.handle as like_handle,
        p.platform as like_platform,
        p.roi as like_roi,
        pe.engagement_rate_30d_mean as like_engagement_rate_30d_mean,
        round(c.engagement_rate_30d_mean / pe.engagement_rate_30d_mean, 6)::decimal(18, 6)
            as er_ratio,
    from performers as p
    inner join engagement as pe
        on p.platform = pe.platform and p.account_id = pe.account_id
    inner join performer_niches as pn
        on p.campaign = pn.campaign
        and p.platform = pn.platform
        and p.account_id = pn.account_id
    inner join marts.candidates as c
        on c.as_of = getvariable('as_of')
        and c.scope_type = 'niche'
        and pn.niche = c.scope
        and p.platform = c.platform
        and pe.tier = c.tier
    where pe.engagement_rate_30d_mean > 0
        and c.engagement_rate_30d_mean >= 0.5 * pe.engagement_rate_30d_mean
        and c.engagement_rate_30d_mean <= 2 * pe.engagement_rate_30d_mean
        -- not already in the campaign, in any version of its terms
        and not exists (
            select 1 from intermediate.int_campaign_creators as cr
            where cr.campaign = p.campaign
                and cr.platform = c.platform
                and (cr.account_id = c.account_id or cr.handle = lower(c.handle))
        )
    qualify row_number() over (
        partition by p.campaign, c.platform, c.account_id
        order by p.roi_rank asc, c.score desc, c.scope asc
    ) = 1
),

final as (
    select
        getvariable('as_of') as as_of,
        campaign,
        platform,
        account_id,
        handle,
        niche,
        tier,
        engagement_rate_30d_mean,
        score,
        like_platform,
        like_handle,
        like_roi,
        er_ratio,
        row_number() over (
            partition by campaign order by score desc, platform asc, account_id asc
        ) as shortlist_rank,
        format(
            'like {}:{} (ROI {}): {} candidate in {}, tier {}, ER {} % = {}× theirs; score {}',
            like_platform, like_handle, like_roi, platform, niche, tier,
            round(engagement_rate_30d_mean * 100, 2), er_ratio, round(score, 3)
        ) as reason,
    from matches
)

select * from final
