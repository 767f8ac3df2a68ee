-- grain: one row per as-of instant per campaign
-- key: as_of, campaign
-- not_null: as_of, campaign, currency, starts_on, ends_on, creators, sponsored_posts, sponsored_engagements, clicks, orders, revenue, cost, unattributed_orders, ranking
-- check: creators >= 1
-- check: roi is null or cost > 0
-- Totals over the creators of campaign_creator_results, the same formulas on the sums
-- (docs/campaigns.md), and the creators ranked by ROI with each one's reason.
with creators as (
    select * from marts.campaign_creator_results
    where as_of = getvariable('as_of')
),

terms as (
    select distinct
        campaign, brand, label, starts_on, ends_on, budget, currency, window_start,
        attribution_end,
    from intermediate.int_campaign_creators
),

-- orders in the campaign's attribution span that went to no creator: unknown codes, codes
-- and links used outside their span
unattributed as (
    select t.campaign, count(*) as unattributed_orders,
    from marts.campaign_orders as o
    inner join terms as t
        on o.ordered_at >= t.window_start and o.ordered_at < t.attribution_end
    where o.as_of = getvariable('as_of') and not o.is_attributed
    group by t.campaign
),

totals as (
    select
        campaign,
        count(*) as creators,
        sum(sponsored_posts) as sponsored_posts,
        sum(sponsored_engagements) as sponsored_engagements,
        sum(sponsored_views) as sponsored_views,
        sum(clicks) as clicks,
        sum(orders) as orders,
        sum(cancelled_orders) as cancelled_orders,
        sum(unconverted_orders) as unconverted_orders,
        sum(revenue)::decimal(18, 2) as revenue,
        sum(cost)::decimal(18, 2) as cost,  -- noqa: RF04
        string_agg(
            format('{}. {}:{} ({})', roi_rank, platform, handle, rank_reason), '; '
            order by roi_rank
        ) as ranking,
        arg_min(platform || ':' || handle, roi_rank) filter (where roi is not null)
            as best_creator,
    from creators
    group by campaign
),

final as (
    select
        getvariable('as_of') as as_of,
        t.campaign,
        t.brand,
        t.label,
        t.starts_on,
        t.ends_on,
        t.currency,
        t.budget,
        s.creators,
        s.sponsored_posts,
        s.sponsored_engagements,
        s.sponsored_views,
        s.clicks,
        s.orders,
        s.cancelled_orders,
        s.unconverted_orders,
        coalesce(u.unattributed_orders, 0) as unattributed_orders,
        s.revenue,
        s.cost,
        round(s.cost / nullif(t.budget, 0), 6)::decimal(18, 6) as budget_used,
        round(s.cost / nullif(s.sponsored_engagements, 0), 6)::decimal(18, 6) as cpe,
        round(s.cost / nullif(s.clicks, 0), 6)::decimal(18, 6) as cpc,
        round(s.cost / nullif(s.orders, 0), 6)::decimal(18, 6) as cpa,
        round(s.cost * 1000 / nullif(s.sponsored_views, 0), 6)::decimal(18, 6) as cpm,
        round(s.revenue / nullif(s.cost, 0), 6)::decimal(18, 6) as roas,
        round((s.revenue - s.cost) / nullif(s.cost, 0), 6)::decimal(18, 6) as roi,
        s.best_creator,
        s.ranking,
    from terms as t
    inner join totals as s on t.campaign = s.campaign
    left join unattributed as u on t.campaign = u.campaign
)

select * from final
