-- grain: one row per as-of instant per order before as_of that a campaign's code or tracked link matches (in its attribution span or not), or that carries a code no campaign knows and was placed between the first campaign's start and the last one's attribution end
-- key: as_of, source, order_id
-- not_null: as_of, source, order_id, ordered_at, order_currency, net_amount, discount_codes, is_attributed, is_converted, reason
-- check: is_attributed = (campaign is not null)
-- check: is_attributed = (matched_by is not null)
-- check: matched_by is null or matched_by in ('code', 'link', 'code+link')
-- check: is_converted = (revenue is not null)
-- check: not is_converted or is_attributed
-- check: net_amount >= 0
-- Attribution (docs/campaigns.md): an order goes to a creator when one of its discount
-- codes is the creator's code, or its landing URL carries the creator's UTM values or short
-- link, in the term's version in force at ordered_at, and it was placed in the campaign's
-- attribution span [starts_on, ends_on + 1 + attribution_window_days days). An order is
-- counted once, for one creator: a code match beats a link match (last touch: a code is
-- typed at checkout, after the visit the link brought), among codes the one listed last,
-- then the campaign, platform and handle in name order so that reruns agree.
-- creator_rank: the creators in campaign, platform and handle order, so that the steps below
-- group and rank on one integer
with creators as materialized (
    select
        *,
        row_number() over (order by campaign asc, platform asc, handle asc) as creator_rank,
    from intermediate.int_campaign_creators
),

campaigns as (
    select distinct campaign, currency, window_start, attribution_end,
    from creators
),

-- each order once: the newest export of it (a refund or a cancellation arrives later).
-- Numbered (order_row), so that the steps below join and group on one integer rather than
-- on source and order id
orders as materialized (
    select
        row_number() over () as order_row,
        o.source,
        o.order_id,
        o.ordered_at,
        upper(o.currency) as order_currency,
        o.subtotal,
        o.refunded,
        o.cancelled_at,
        o.discount_codes,
        o.landing_url,
        -- the loader took them from the landing URL, lowercase
        o.utm_source,
        o.utm_medium,
        o.utm_campaign,
        o.utm_content,
    -- one row per order: the loader merges a later export of it (a refund) into it
    from core.orders as o
    where o.ordered_at < getvariable('as_of')
        and (len(o.discount_codes) > 0 or o.landing_url is not null
             or o.utm_campaign is not null)
),

order_codes as (
    select
        order_row,
        ordered_at,
        order_currency,
        upper(trim(unnest(discount_codes))) as code,
        generate_subscripts(discount_codes, 1) as code_position,
    from orders
),

-- every tracking term with its creator's campaign windows
tracking as (
    select
        t.*,
        c.window_start,
        c.attribution_end,
        c.account_id,
        c.handle as creator_handle,
        c.creator_rank,
        upper(trim(t.code)) as term_code,
        lower(rtrim(regexp_replace(t.short_link, '(?i)^https?://(www\.)?', ''), '/'))
            as term_link,
        lower(t.utm_campaign) as term_utm_campaign,
        lower(t.utm_content) as term_utm_content,
    from core.campaign_tracking as t
    inner join creators as c
        on t.campaign = c.campaign
        and t.platform = c.platform
        and lower(ltrim(trim(t.handle), '@')) = c.handle
),

-- each code of an order with every code term of that code (none: an unknown code)
code_terms as (
    select
        oc.order_row,
        oc.code,
        oc.code_position,
        oc.ordered_at,
        oc.order_currency,
        t.campaign,
        t.platform,
        t.creator_handle,
        t.creator_rank,
        oc.ordered_at >= t.window_start and oc.ordered_at < t.attribution_end as in_span,
        oc.ordered_at >= t.valid_from
            and oc.ordered_at < coalesce(t.valid_to, 'infinity'::timestamp) as in_force,
        t.window_start,
        t.attribution_end,
    from order_codes as oc
    left join tracking as t
        on t.kind = 'code' and oc.code = t.term_code
),

code_hits as (
    select * from code_terms
    where campaign is not null
),

-- the short-link terms each landing URL matches by its host/path (without scheme, www.,
-- query or a trailing /): worked out once per distinct URL, not per order
landing_terms as (
    select u.landing_url, t.*,
    from (
        select
            landing_url,
            rtrim(regexp_extract(
                lower(regexp_replace(landing_url, '(?i)^https?://(www\.)?', '')), '^[^?#]*'
            ), '/') as landing_link,
        from orders
        where landing_url is not null
        group by landing_url
    ) as u
    inner join tracking as t on u.landing_link = t.term_link
    where t.kind = 'short_link'
),

link_hits as (
    select
        order_row,
        ordered_at,
        order_currency,
        campaign,
        platform,
        creator_handle,
        creator_rank,
        ordered_at >= window_start and ordered_at < attribution_end as in_span,
        ordered_at >= valid_from
            and ordered_at < coalesce(valid_to, 'infinity'::timestamp) as in_force,
        window_start,
        attribution_end,
    from (
        -- an equality first, so that a million orders meet their few terms by hash: the UTM
        -- campaign and content (a campaign's creators share its UTM campaign)
        select o.order_row, o.ordered_at, o.order_currency, t.*,
        from orders as o
        inner join tracking as t
            on o.utm_campaign = t.term_utm_campaign
            and o.utm_content = t.term_utm_content
            and (t.utm_source is null or o.utm_source = lower(t.utm_source))
            and (t.utm_medium is null or o.utm_medium = lower(t.utm_medium))
        where t.kind = 'utm'
        union all
        -- a UTM term open on the content: by the campaign alone
        select o.order_row, o.ordered_at, o.order_currency, t.*,
        from orders as o
        inner join tracking as t
            on o.utm_campaign = t.term_utm_campaign
            and (t.utm_source is null or o.utm_source = lower(t.utm_source))
            and (t.utm_medium is null or o.utm_medium = lower(t.utm_medium))
        where t.kind = 'utm' and t.utm_content is null
        union all
        -- a UTM term without a campaign value (rare): every order is compared with it
        select o.order_row, o.ordered_at, o.order_currency, t.*,
        from orders as o
        inner join tracking as t
            on (t.utm_source is null or o.utm_source = lower(t.utm_source))
            and (t.utm_medium is null or o.utm_medium = lower(t.utm_medium))
            and (t.utm_content is null or o.utm_content = lower(t.utm_content))
        where t.kind = 'utm' and t.utm_campaign is null
            and coalesce(t.utm_source, t.utm_medium, t.utm_content) is not null
        union all
        -- a short link: the landing URL's host/path
        select o.order_row, o.ordered_at, o.order_currency, t.* exclude (t.landing_url),
        from orders as o
        inner join landing_terms as t on o.landing_url = t.landing_url
    ) as hits
),

-- per order and creator, what matched in force and in the span (the order's time and
-- currency carried along for its rate)
matches as (
    select
        order_row,
        creator_rank,
        any_value(ordered_at) as ordered_at,
        any_value(order_currency) as order_currency,
        bool_or(is_code) as by_code,
        bool_or(not is_code) as by_link,
        max(code_position) as code_position,
        min(code) as code,
    from (
        select order_row, creator_rank, ordered_at, order_currency, true as is_code,
               code_position, code,
        from code_hits
        where in_span and in_force
        union all
        select order_row, creator_rank, ordered_at, order_currency, false as is_code,
               null as code_position, null as code,
        from link_hits
        where in_span and in_force
    ) as hits
    group by order_row, creator_rank
),

ranked as (
    select
        *,
        row_number() over (
            partition by order_row
            order by by_code desc, code_position desc nulls last, creator_rank asc
        ) as touch_rank,
        if(by_code and by_link, 'code+link', if(by_code, 'code', 'link')) as matched_by,
    from matches
),

-- the creators an order also matched, who lost to the last touch; in touch order, sorted
-- after the fact (an ordered list aggregate over many orders is slow)
losers as (
    select
        r.order_row,
        list_transform(
            list_sort(list({
                'touch_rank': r.touch_rank,
                'loser': c.platform || ':' || c.handle || ' (' || r.matched_by || ')'
            })),
            lost -> lost.loser
        ) as lost_to_last_touch,
    from ranked as r
    inner join creators as c on r.creator_rank = c.creator_rank
    where r.touch_rank > 1
    group by r.order_row
),

-- each order's creator: the last touch
first_touches as (
    select
        w.*,
        c.campaign,
        c.platform,
        c.handle as creator_handle,
        c.currency as campaign_currency,
        l.lost_to_last_touch,
    from ranked as w
    inner join creators as c on w.creator_rank = c.creator_rank
    left join losers as l on w.order_row = l.order_row
    where w.touch_rank = 1
),

-- a currency pair's rate from the day it is published; the inverse pair when only that one
-- is on record (the direct rate wins a day both start)
rates as (
    select currency, to_currency, rate, valid_from,
    from (
        select upper(currency) as currency, upper(to_currency) as to_currency, rate, valid_from,
               observed_at, 1 as preference,
        from core.fx_rates
        union all
        select upper(to_currency) as currency, upper(currency) as to_currency, 1 / rate as rate,
               valid_from, observed_at, 2 as preference,
        from core.fx_rates
    ) as both_ways
    qualify row_number() over (
        partition by currency, to_currency, valid_from
        order by preference asc, observed_at desc
    ) = 1
),

-- each order's creator, with the rate from the order's currency to the campaign's: looked up
-- only for the orders in another currency
winners as (
    select *, 1.0::double as fx_rate, null::date as fx_valid_from,
    from first_touches
    where order_currency = campaign_currency
    union all
    select w.*, r.rate as fx_rate, r.valid_from as fx_valid_from,
    from first_touches as w
    asof left join rates as r
        on w.order_currency = r.currency
        and w.campaign_currency = r.to_currency
        and w.ordered_at::date >= r.valid_from
    where w.order_currency != w.campaign_currency
),

-- the codes and links of an order that matched no one: why an order went to no one, and
-- what else an attributed order carried
misses as (
    select
        order_row,
        -- sorted after the fact: an ordered string_agg over many orders is slow
        array_to_string(list_sort(list(reason)), '; ') as reason,
    from (
        select distinct
            h.order_row,
            case
                -- an unknown code is listed between the first campaign's start and the last
                -- one's attribution end only: the shop's other promotions are no campaign's
                when h.campaign is null and (
                    h.ordered_at < (select min(c.window_start) from campaigns as c)
                    or h.ordered_at >= (select max(c.attribution_end) from campaigns as c)
                ) then null
                when h.campaign is null then 'unknown code ' || h.code
                when not h.in_span then format(
                    'code {} of campaign {} used outside its attribution span [{}, {})',
                    h.code, h.campaign, h.window_start::date, h.attribution_end::date
                )
                else format(
                    'code {} of campaign {} not in force at the order time',
                    h.code, h.campaign
                )
            end as reason,
        from code_terms as h
        -- a code one of whose versions matched is no miss
        anti join (
            select order_row, code from code_hits
            where in_span and in_force
        ) as used
            on h.order_row = used.order_row and h.code = used.code
        union all
        select distinct
            h.order_row,
            if(
                not h.in_span,
                format(
                    'link of {}:{} (campaign {}) outside its attribution span [{}, {})',
                    h.platform, h.creator_handle, h.campaign, h.window_start::date,
                    h.attribution_end::date
                ),
                format(
                    'link of {}:{} (campaign {}) not in force at the order time',
                    h.platform, h.creator_handle, h.campaign
                )
            ) as reason,
        from link_hits as h
        -- a creator's link one of whose versions matched is no miss
        anti join (
            select order_row, campaign, platform, creator_handle, from link_hits
            where in_span and in_force
        ) as used
            on h.order_row = used.order_row
            and h.campaign = used.campaign
            and h.platform = used.platform
            and h.creator_handle = used.creator_handle
        where not (h.in_span and h.in_force)
    ) as reasons
    where reason is not null
    group by order_row
),

-- each order with the creator it went to, if any, and its rate to the campaign's currency
converted as (
    select
        o.*,
        w.campaign,
        w.platform,
        w.creator_handle as handle,
        w.creator_rank,
        w.matched_by,
        w.code,
        w.lost_to_last_touch,
        w.campaign_currency,
        w.fx_rate,
        w.fx_valid_from,
    from orders as o
    left join winners as w on o.order_row = w.order_row
),

final as (
    select
        getvariable('as_of') as as_of,
        c.source,
        c.order_id,
        c.ordered_at,
        c.order_currency,
        c.subtotal,
        c.refunded,
        c.cancelled_at is not null and c.cancelled_at < getvariable('as_of') as is_cancelled,
        -- net of refunds; a cancelled order is worth nothing; a refund beyond the subtotal
        -- (shipping, taxes) takes it to 0, not below
        if(is_cancelled, 0, greatest(c.subtotal - c.refunded, 0))::decimal(18, 2) as net_amount,
        c.discount_codes,
        c.landing_url,
        c.campaign,
        c.platform,
        c.handle,
        cr.account_id,
        c.matched_by,
        c.code,
        c.lost_to_last_touch,
        c.campaign_currency,
        c.fx_rate,
        c.fx_valid_from,
        round(net_amount * c.fx_rate, 2)::decimal(18, 2) as revenue,
        c.campaign is not null as is_attributed,
        revenue is not null as is_converted,
        case
            when c.campaign is null then m.reason
            else concat_ws(
                '; ',
                format(
                    '{} of {}:{} (campaign {})',
                    case c.matched_by
                        when 'code' then 'code ' || c.code
                        when 'link' then 'tracked link'
                        else 'code ' || c.code || ' and tracked link'
                    end,
                    c.platform, c.handle, c.campaign
                ),
                if(
                    c.lost_to_last_touch is not null,
                    'last touch over ' || array_to_string(c.lost_to_last_touch, ', '),
                    null
                ),
                if(m.reason is not null, 'also ' || m.reason, null),
                if(is_cancelled, 'cancelled: counts 0', null),
                if(
                    not is_cancelled and c.refunded > 0,
                    format('refunded {} of {}', c.refunded::varchar, c.subtotal::varchar),
                    null
                ),
                if(
                    c.fx_rate is null,
                    format(
                        'no {}→{} rate on or before {}: not converted',
                        c.order_currency, c.campaign_currency, c.ordered_at::date
                    ),
                    null
                ),
                if(
                    c.fx_valid_from is not null,
                    format(
                        '{}→{} at {} (rate of {})',
                        c.order_currency, c.campaign_currency, c.fx_rate, c.fx_valid_from
                    ),
                    null
                )
            )
        end as reason,
    from converted as c
    left join misses as m on c.order_row = m.order_row
    left join creators as cr on c.creator_rank = cr.creator_rank
    where c.campaign is not null or m.reason is not null
)

select * from final
