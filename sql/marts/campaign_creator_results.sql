-- grain: one row per as-of instant per campaign per creator
-- key: as_of, campaign, platform, handle
-- not_null: as_of, campaign, platform, handle, currency, sponsored_posts, organic_posts, sponsored_engagements, clicks, orders, cancelled_orders, unconverted_orders, revenue, flat_fee, per_post_fees, commission, cost, cost_rule, attribution_rule, roi_rank, rank_reason
-- check: sponsored_posts >= 0 and organic_posts >= 0 and clicks >= 0 and orders >= 0
-- check: cost = flat_fee + per_post_fees + commission
-- check: roi is null or cost > 0
-- check: roi_rank >= 1
-- let: clicks_from = (select min(window_start)::date from intermediate.int_campaign_creators)
-- let: clicks_until = (select max(attribution_end)::date from intermediate.int_campaign_creators)
-- The formulas and the attribution rule: docs/campaigns.md. Money is in the campaign's
-- currency (fees are stated in it; orders are converted in campaign_orders); rates and
-- ratios are rounded to 6 decimals, engagement rates to 12 as elsewhere.
with creators as (
    select * from intermediate.int_campaign_creators
),

posts as (
    select
        campaign,
        platform,
        handle,
        count(*) filter (where is_sponsored) as sponsored_posts,
        sum(engagements) filter (where is_sponsored) as sponsored_engagements,
        sum(views) filter (where is_sponsored) as sponsored_views,
        avg(engagement_rate) filter (where is_sponsored) as sponsored_er,
        count(*) filter (where is_organic) as organic_posts,
        avg(engagement_rate) filter (where is_organic) as organic_er,
    from intermediate.int_campaign_posts
    group by all
),

-- one row per click row: the loader merges a later export of it; UTM values lowercase and
-- short links as host/path, as in core.campaign_tracking. Not materialized: each join below
-- streams the rows and columns it needs from the table (a stored copy of 10 M rows cost
-- seconds)
clicks as not materialized (
    select
        source,
        click_key,
        clicks,
        sessions,
        coalesce(clicked_at, clicked_on::timestamp) as clicked_time,
        utm_source,
        utm_medium,
        utm_campaign,
        utm_content,
        short_link,
    from core.link_clicks
    where coalesce(clicked_at, clicked_on::timestamp) < getvariable('as_of')
        and clicked_on >= getvariable('clicks_from')
        and clicked_on < getvariable('clicks_until')
),

-- the creators' link terms with their campaign's attribution span
link_terms as (
    select
        row_number() over () as term_id,
        t.kind,
        t.valid_from,
        coalesce(t.valid_to, 'infinity'::timestamp) as valid_to,
        lower(t.utm_source) as utm_source,
        lower(t.utm_medium) as utm_medium,
        lower(t.utm_campaign) as utm_campaign,
        lower(t.utm_content) as utm_content,
        -- as the loader writes it (host/path); a scheme or a trailing / is tolerated
        rtrim(regexp_replace(t.short_link, '(?i)^https?://(www\.)?', ''), '/') as short_link,
        cr.campaign,
        cr.platform,
        cr.handle,
        cr.window_start,
        cr.attribution_end,
    from core.campaign_tracking as t
    inner join creators as cr
        on t.campaign = cr.campaign
        and t.platform = cr.platform
        and lower(ltrim(trim(t.handle), '@')) = cr.handle
    where t.kind in ('utm', 'short_link')
),

-- terms one click row could match both of (the same short link; UTM values no field of
-- which differs), in force at once: only their clicks need settling one by one
contested_terms as (
    select distinct a.term_id,
    from link_terms as a
    inner join link_terms as b
        on a.term_id != b.term_id
        and a.kind = b.kind
        and a.valid_from < b.valid_to
        and a.valid_to > b.valid_from
        and a.window_start < b.attribution_end
        and a.attribution_end > b.window_start
    where (a.kind = 'short_link' and a.short_link = b.short_link)
        or (
            a.kind = 'utm'
            and (a.utm_source is null or b.utm_source is null or a.utm_source = b.utm_source)
            and (a.utm_medium is null or b.utm_medium is null or a.utm_medium = b.utm_medium)
            and (
                a.utm_campaign is null or b.utm_campaign is null
                or a.utm_campaign = b.utm_campaign
            )
            and (
                a.utm_content is null or b.utm_content is null
                or a.utm_content = b.utm_content
            )
        )
),

terms as (
    select
        t.*,
        t.term_id in (select ct.term_id from contested_terms as ct) as is_contested,
    from link_terms as t
),

-- a click counts for the creator whose short link it is, or, a row without a short link
-- (web analytics), whose UTM values it carries; in the term's version in force then and in
-- the campaign's attribution span (the same span as orders). Equalities first (the short
-- link, the UTM campaign), so that millions of clicks meet their terms by hash
click_matches as not materialized (
    select
        c.source, c.click_key, c.clicks, c.sessions, t.is_contested, t.campaign, t.platform,
        t.handle,
    from clicks as c
    inner join terms as t
        on c.utm_campaign = t.utm_campaign
        and (t.utm_source is null or c.utm_source = t.utm_source)
        and (t.utm_medium is null or c.utm_medium = t.utm_medium)
        and (t.utm_content is null or c.utm_content = t.utm_content)
        and c.clicked_time >= t.valid_from
        and c.clicked_time < t.valid_to
        and c.clicked_time >= t.window_start
        and c.clicked_time < t.attribution_end
    where t.kind = 'utm' and c.short_link is null
    union all
    -- a UTM term without a campaign value (rare): every click is compared with it
    select
        c.source, c.click_key, c.clicks, c.sessions, t.is_contested, t.campaign, t.platform,
        t.handle,
    from clicks as c
    inner join terms as t
        on (t.utm_source is null or c.utm_source = t.utm_source)
        and (t.utm_medium is null or c.utm_medium = t.utm_medium)
        and (t.utm_content is null or c.utm_content = t.utm_content)
        and c.clicked_time >= t.valid_from
        and c.clicked_time < t.valid_to
        and c.clicked_time >= t.window_start
        and c.clicked_time < t.attribution_end
    where t.kind = 'utm' and t.utm_campaign is null and c.short_link is null
        and coalesce(t.utm_source, t.utm_medium, t.utm_content) is not null
    union all
    select
        c.source, c.click_key, c.clicks, c.sessions, t.is_contested, t.campaign, t.platform,
        t.handle,
    from clicks as c
    inner join terms as t
        on c.short_link = t.short_link
        and c.clicked_time >= t.valid_from
        and c.clicked_time < t.valid_to
        and c.clicked_time >= t.window_start
        and c.clicked_time < t.attribution_end
    where t.kind = 'short_link'
),

-- a click row of a term no other contests counts for its creator, summed as the join
-- streams; a click row of contested terms counts once, for the first creator by campaign,
-- platform and handle (grouped by row: only these rows, since over every row it costs
-- seconds)
click_hits as (
    select m.campaign, m.platform, m.handle, sum(m.clicks) as clicks, sum(m.sessions) as sessions,
    from click_matches as m
    where not m.is_contested
    group by all
    union all
    select
        creator.campaign, creator.platform, creator.handle, clicks, sessions,
    from (
        select
            any_value(m.clicks) as clicks,
            any_value(m.sessions) as sessions,
            arg_min(
                { 'campaign': m.campaign, 'platform': m.platform, 'handle': m.handle },
                [m.campaign, m.platform, m.handle]
            ) as creator,
        from click_matches as m
        where m.is_contested
        group by m.source, m.click_key
    ) as settled
),

creator_clicks as (
    select
        campaign,
        platform,
        handle,
        sum(clicks) as clicks,
        sum(sessions) as sessions,
    from click_hits
    group by all
),

orders as (
    select * from marts.campaign_orders
    where as_of = getvariable('as_of') and is_attributed
),

creator_orders as (
    select
        campaign,
        platform,
        handle,
        count(*) filter (where not is_cancelled) as orders,
        count(*) filter (where is_cancelled) as cancelled_orders,
        count(*) filter (where not is_cancelled and not is_converted) as unconverted_orders,
        sum(revenue) as revenue,
        string_agg(
            format('{} {} of order {}', order_currency, net_amount::varchar, order_id), ', '
            order by order_id
        ) filter (where not is_cancelled and not is_converted) as unconverted_list,
    from orders
    group by all
),

fee_versions as (
    select *, lower(ltrim(trim(handle), '@')) as creator_handle,
    from core.campaign_creators
),

-- a flat fee, or a commission's fixed part: once, from the terms in force at the
-- campaign's last instant seen by as_of
flat_fees as (
    select cr.campaign, cr.platform, cr.handle, f.fee_type, f.fee_amount, f.valid_from,
    from creators as cr
    inner join fee_versions as f
        on cr.campaign = f.campaign
        and cr.platform = f.platform
        and cr.handle = f.creator_handle
        and cr.terms_at >= f.valid_from
        and cr.terms_at < coalesce(f.valid_to, 'infinity'::timestamp)
    where f.fee_type in ('flat', 'commission') and f.fee_amount is not null
    qualify row_number() over (
        partition by cr.campaign, cr.platform, cr.handle order by f.valid_from desc
    ) = 1
),

-- a fee per post: each sponsored post at the terms in force when it was posted
post_fees as (
    select campaign, platform, handle, fee_amount, count(*) as posts,
    from (
        select p.campaign, p.platform, p.handle, p.post_id, f.fee_amount,
        from intermediate.int_campaign_posts as p
        inner join fee_versions as f
            on p.campaign = f.campaign
            and p.platform = f.platform
            and p.handle = f.creator_handle
            and p.created_at >= f.valid_from
            and p.created_at < coalesce(f.valid_to, 'infinity'::timestamp)
        where p.is_sponsored and f.fee_type = 'per_post'
        qualify row_number() over (
            partition by p.campaign, p.platform, p.post_id order by f.valid_from desc
        ) = 1
    ) as priced
    group by all
),

-- a commission: each converted order's revenue at the rate in force when it was placed
order_commissions as (
    select campaign, platform, handle, commission_rate, sum(revenue) as revenue,
    from (
        select o.campaign, o.platform, o.handle, o.order_id, o.revenue, f.commission_rate,
        from orders as o
        inner join fee_versions as f
            on o.campaign = f.campaign
            and o.platform = f.platform
            and o.handle = f.creator_handle
            and o.ordered_at >= f.valid_from
            and o.ordered_at < coalesce(f.valid_to, 'infinity'::timestamp)
        where o.is_converted and f.fee_type = 'commission' and f.commission_rate is not null
        qualify row_number() over (
            partition by o.source, o.order_id order by f.valid_from desc
        ) = 1
    ) as earned
    group by all
),

post_fee_totals as (
    select
        campaign,
        platform,
        handle,
        sum(posts * fee_amount) as per_post_fees,
        string_agg(format('{} posts × {}', posts, fee_amount::varchar), ' + ' order by fee_amount)
            as parts,
    from post_fees
    group by all
),

commission_totals as (
    select
        campaign,
        platform,
        handle,
        round(sum(commission_rate * revenue), 2) as commission,
        string_agg(
            format('{} % of {}', round(commission_rate * 100, 4), revenue::varchar), ' + '
            order by commission_rate
        ) as parts,
    from order_commissions
    group by all
),

fees as (
    select
        cr.campaign,
        cr.platform,
        cr.handle,
        coalesce(flat.fee_amount, 0)::decimal(18, 2) as flat_fee,
        coalesce(pf.per_post_fees, 0)::decimal(18, 2) as per_post_fees,
        coalesce(oc.commission, 0)::decimal(18, 2) as commission,
        concat_ws(
            ' + ',
            if(
                flat.fee_amount is not null,
                format(
                    '{} {} (terms of {})',
                    if(flat.fee_type = 'flat', 'flat', 'commission fixed part'),
                    flat.fee_amount::varchar, flat.valid_from
                ),
                null
            ),
            pf.parts,
            oc.parts
        ) as cost_parts,
    from creators as cr
    left join flat_fees as flat
        on cr.campaign = flat.campaign
        and cr.platform = flat.platform
        and cr.handle = flat.handle
    left join post_fee_totals as pf
        on cr.campaign = pf.campaign and cr.platform = pf.platform and cr.handle = pf.handle
    left join commission_totals as oc
        on cr.campaign = oc.campaign and cr.platform = oc.platform and cr.handle = oc.handle
),

joined as (
    select
        getvariable('as_of') as as_of,
        cr.campaign,
        cr.platform,
        cr.handle,
        cr.account_id,
        cr.currency,
        coalesce(p.sponsored_posts, 0) as sponsored_posts,
        coalesce(p.sponsored_engagements, 0) as sponsored_engagements,
        p.sponsored_views,
        round(p.sponsored_er, 12)::decimal(18, 12) as sponsored_er,
        coalesce(p.organic_posts, 0) as organic_posts,
        round(p.organic_er, 12)::decimal(18, 12) as organic_er,
        coalesce(cc.clicks, 0) as clicks,
        cc.sessions,
        coalesce(co.orders, 0) as orders,
        coalesce(co.cancelled_orders, 0) as cancelled_orders,
        coalesce(co.unconverted_orders, 0) as unconverted_orders,
        co.unconverted_list,
        coalesce(co.revenue, 0)::decimal(18, 2) as revenue,
        f.flat_fee,
        f.per_post_fees,
        f.commission,
        (f.flat_fee + f.per_post_fees + f.commission)::decimal(18, 2) as cost,  -- noqa: RF04
        f.cost_parts,
        cr.window_start,
        cr.window_end,
        cr.attribution_end,
        cr.attribution_window_days,
    from creators as cr
    left join posts as p
        on cr.campaign = p.campaign and cr.platform = p.platform and cr.handle = p.handle
    left join creator_clicks as cc
        on cr.campaign = cc.campaign and cr.platform = cc.platform and cr.handle = cc.handle
    left join creator_orders as co
        on cr.campaign = co.campaign and cr.platform = co.platform and cr.handle = co.handle
    inner join fees as f
        on cr.campaign = f.campaign and cr.platform = f.platform and cr.handle = f.handle
),

metrics as (
    select
        *,
        round(sponsored_er / nullif(organic_er, 0), 6)::decimal(18, 6) as paid_performance,
        round(cost / nullif(sponsored_engagements, 0), 6)::decimal(18, 6) as cpe,
        round(cost / nullif(clicks, 0), 6)::decimal(18, 6) as cpc,
        round(cost / nullif(orders, 0), 6)::decimal(18, 6) as cpa,
        round(cost * 1000 / nullif(sponsored_views, 0), 6)::decimal(18, 6) as cpm,
        round(revenue / nullif(cost, 0), 6)::decimal(18, 6) as roas,
        round((revenue - cost) / nullif(cost, 0), 6)::decimal(18, 6) as roi,
    from joined
),

final as (
    select
        as_of,
        campaign,
        platform,
        handle,
        account_id,
        currency,
        sponsored_posts,
        sponsored_engagements,
        sponsored_views,
        sponsored_er,
        organic_posts,
        organic_er,
        paid_performance,
        clicks,
        sessions,
        orders,
        cancelled_orders,
        unconverted_orders,
        revenue,
        flat_fee,
        per_post_fees,
        commission,
        cost,
        if(cost_parts = '', 'no fee in force', cost_parts) as cost_rule,
        cpe,
        cpc,
        cpa,
        cpm,
        roas,
        roi,
        format(
            'orders with the creator''s code or tracked link placed in [{}, {}) (the campaign'
            || ' window and {} days after it), in force then; one creator an order, last touch'
            || ' (a code at checkout beats a link); revenue = subtotal - refunded (cancelled:'
            || ' 0) in {} at the order day''s rate; clicks on the tracked links in the same'
            || ' span; sponsored posts: the campaign''s evidence in [{}, {})',
            window_start::date, attribution_end::date, attribution_window_days, currency,
            window_start::date, window_end::date
        ) as attribution_rule,
        concat_ws(
            '; ',
            if(sponsored_posts = 0, 'no sponsored post found', null),
            if(
                sponsored_posts > 0 and organic_er is null,
                'no organic post with a rate in the window: no paid-post performance',
                null
            ),
            if(sponsored_views is null, 'no views on record: no CPM', null),
            if(clicks = 0, 'no click: no CPC', null),
            if(orders = 0, 'no order: no CPA', null),
            if(cost = 0, 'no cost: no ROAS or ROI', null),
            if(
                unconverted_orders > 0,
                format('{} orders not converted, left out of revenue: {}',
                       unconverted_orders, unconverted_list),
                null
            )
        ) as notes,
        row_number() over (
            partition by campaign
            order by roi desc nulls last, revenue desc, platform asc, handle asc
        ) as roi_rank,
        case
            when roi is null then format(
                'no ROI (no cost on record); revenue {} {} from {} orders',
                revenue::varchar, currency, orders
            )
            else format(
                'ROI {} = ({} - {}) / {} {}: {} orders, {} clicks, {} sponsored posts',
                roi::double, revenue::varchar, cost::varchar, cost::varchar, currency, orders,
                clicks, sponsored_posts
            )
        end as rank_reason,
    from metrics
)

select * from final
