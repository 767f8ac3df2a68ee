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
with creators as (
    select * from intermediate.int_campaign_creators
),

campaigns as (
    select distinct campaign, currency, window_start, attribution_end,
    from creators
),

-- each order once: the newest export of it (a refund or a cancellation arrives later)
orders as (
    select
        o.source,
        o.order_id,
        o.ordered_at,
        upper(o.currency) as order_currency,
        o.subtotal,
        o.refunded,
        o.cancelled_at,
        o.discount_codes,
        o.landing_url,
        -- the landing URL's host/path, without scheme, www., query or a trailing /
        rtrim(regexp_extract(
            lower(regexp_replace(o.landing_url, '(?i)^https?://(www\.)?', '')), '^[^?#]*'
        ), '/') as landing_link,
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
        source,
        order_id,
        ordered_at,
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
        upper(trim(t.code)) as term_code,
        lower(rtrim(regexp_replace(t.short_link, '(?i)^https?://(www\.)?', ''), '/'))
            as term_link,
        lower(t.utm_campaign) as term_utm_campaign,
    from core.campaign_tracking as t
    inner join creators as c
        on t.campaign = c.campaign
        and t.platform = c.platform
        and lower(ltrim(trim(t.handle), '@')) = c.handle
),

code_hits as (
    select
        oc.source,
        oc.order_id,
        oc.code,
        oc.code_position,
        t.campaign,
        t.platform,
        t.creator_handle,
        oc.ordered_at >= t.window_start and oc.ordered_at < t.attribution_end as in_span,
        oc.ordered_at >= t.valid_from
            and oc.ordered_at < coalesce(t.valid_to, 'infinity'::timestamp) as in_force,
        t.window_start,
        t.attribution_end,
    from order_codes as oc
    inner join tracking as t
        on t.kind = 'code' and oc.code = t.term_code
),

link_hits as (
    select
        o.source,
        o.order_id,
        t.campaign,
        t.platform,
        t.creator_handle,
        o.ordered_at >= t.window_start and o.ordered_at < t.attribution_end as in_span,
        o.ordered_at >= t.valid_from
            and o.ordered_at < coalesce(t.valid_to, 'infinity'::timestamp) as in_force,
        t.window_start,
        t.attribution_end,
    from orders as o
    inner join tracking as t
        -- an equality first, so that a million orders meet their few terms by hash: the
        -- UTM campaign, or the landing URL's host/path for a short link
        on (
            o.utm_campaign = t.term_utm_campaign
            and (t.utm_source is null or o.utm_source = lower(t.utm_source))
            and (t.utm_medium is null or o.utm_medium = lower(t.utm_medium))
            and (t.utm_content is null or o.utm_content = lower(t.utm_content))
        )
    where t.kind = 'utm'
    union all
    -- a UTM term without a campaign value (rare): every order is compared with it
    select
        o.source, o.order_id, t.campaign, t.platform, t.creator_handle,
        o.ordered_at >= t.window_start and o.ordered_at < t.attribution_end as in_span,
        o.ordered_at >= t.valid_from
            and o.ordered_at < coalesce(t.valid_to, 'infinity'::timestamp) as in_force,
        t.window_start, t.attribution_end,
    from orders as o
    inner join tracking as t
        on (
            (t.utm_source is null or o.utm_source = lower(t.utm_source))
            and (t.utm_medium is null or o.utm_medium = lower(t.utm_medium))
            and (t.utm_content is null or o.utm_content = lower(t.utm_content))
        )
    where t.kind = 'utm' and t.utm_campaign is null
        and coalesce(t.utm_source, t.utm_medium, t.utm_content) is not null
    union all
    select
        o.source, o.order_id, t.campaign, t.platform, t.creator_handle,
        o.ordered_at >= t.window_start and o.ordered_at < t.attribution_end as in_span,
        o.ordered_at >= t.valid_from
            and o.ordered_at < coalesce(t.valid_to, 'infinity'::timestamp) as in_force,
        t.window_start, t.attribution_end,
    from orders as o
    inner join tracking as t on o.landing_link = t.term_link
    where t.kind = 'short_link'
),

-- per order and creator, what matched in force and in the span
matches as (
    select
        source,
        order_id,
        campaign,
        platform,
        creator_handle,
        bool_or(is_code) as by_code,
        bool_or(not is_code) as by_link,
        max(code_position) as code_position,
        min(code) as code,
    from (
        select source, order_id, campaign, platform, creator_handle, true as is_code,
               code_position, code,
        from code_hits
        where in_span and in_force
        union all
        select source, order_id, campaign, platform, creator_handle, false as is_code,
               null as code_position, null as code,
        from link_hits
        where in_span and in_force
    ) as hits
    group by all
),

ranked as (
    select
        *,
        row_number() over (
            partition by source, order_id
            order by by_code desc, code_position desc nulls last, campaign asc, platform asc,
                creator_handle asc
        ) as touch_rank,
        if(by_code and by_link, 'code+link', if(by_code, 'code', 'link')) as matched_by,
    from matches
),

-- the creators an order also matched, who lost to the last touch
losers as (
    select
        source,
        order_id,
        list(platform || ':' || creator_handle || ' (' || matched_by || ')' order by touch_rank)
            as lost_to_last_touch,
    from ranked
    where touch_rank > 1
    group by source, order_id
),

winners as (
    select w.*, l.lost_to_last_touch,
    from ranked as w
    left join losers as l on w.source = l.source and w.order_id = l.order_id
    where w.touch_rank = 1
),

-- the codes and links of an order that matched no one: why an order went to no one, and
-- what else an attributed order carried
misses as (
    select
        source,
        order_id,
        -- sorted after the fact: an ordered string_agg over many orders is slow
        array_to_string(list_sort(list(reason)), '; ') as reason,
    from (
        select distinct
            oc.source,
            oc.order_id,
            case
                -- an unknown code is listed between the first campaign's start and the last
                -- one's attribution end only: the shop's other promotions are no campaign's
                when h.code is null and (
                    oc.ordered_at < (select min(c.window_start) from campaigns as c)
                    or oc.ordered_at >= (select max(c.attribution_end) from campaigns as c)
                ) then null
                when h.code is null then 'unknown code ' || oc.code
                when not h.in_span then format(
                    'code {} of campaign {} used outside its attribution span [{}, {})',
                    oc.code, h.campaign, h.window_start::date, h.attribution_end::date
                )
                else format(
                    'code {} of campaign {} not in force at the order time',
                    oc.code, h.campaign
                )
            end as reason,
        from order_codes as oc
        left join code_hits as h
            on oc.source = h.source and oc.order_id = h.order_id and oc.code = h.code
        -- a code one of whose versions matched is no miss
        anti join (
            select source, order_id, code from code_hits
            where in_span and in_force
        ) as used
            on oc.source = used.source and oc.order_id = used.order_id and oc.code = used.code
        union all
        select distinct
            h.source,
            h.order_id,
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
        where not (h.in_span and h.in_force)
            and not exists (
                select 1 from link_hits as used
                where used.in_span and used.in_force
                    and h.source = used.source and h.order_id = used.order_id
                    and h.campaign = used.campaign and h.platform = used.platform
                    and h.creator_handle = used.creator_handle
            )
    ) as reasons
    where reason is not null
    group by source, order_id
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

attributed as (
    select
        o.*,
        w.campaign,
        w.platform,
        w.creator_handle as handle,
        w.matched_by,
        w.code,
        w.lost_to_last_touch,
        c.currency as campaign_currency,
    from orders as o
    inner join winners as w on o.source = w.source and o.order_id = w.order_id
    inner join campaigns as c on w.campaign = c.campaign
),

converted as (
    select
        a.*,
        if(a.order_currency = a.campaign_currency, 1.0, r.rate) as fx_rate,
        if(a.order_currency = a.campaign_currency, null, r.valid_from) as fx_valid_from,
    from attributed as a
    asof left join rates as r
        on a.order_currency = r.currency
        and a.campaign_currency = r.to_currency
        and a.ordered_at::date >= r.valid_from
),

final as (
    select
        getvariable('as_of') as as_of,
        o.source,
        o.order_id,
        o.ordered_at,
        o.order_currency,
        o.subtotal,
        o.refunded,
        o.cancelled_at is not null and o.cancelled_at < getvariable('as_of') as is_cancelled,
        -- net of refunds; a cancelled order is worth nothing; a refund beyond the subtotal
        -- (shipping, taxes) takes it to 0, not below
        if(is_cancelled, 0, greatest(o.subtotal - o.refunded, 0))::decimal(18, 2) as net_amount,
        o.discount_codes,
        o.landing_url,
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
                    not is_cancelled and o.refunded > 0,
                    format('refunded {} of {}', o.refunded::varchar, o.subtotal::varchar),
                    null
                ),
                if(
                    c.fx_rate is null,
                    format(
                        'no {}→{} rate on or before {}: not converted',
                        o.order_currency, c.campaign_currency, o.ordered_at::date
                    ),
                    null
                ),
                if(
                    c.fx_valid_from is not null,
                    format(
                        '{}→{} at {} (rate of {})',
                        o.order_currency, c.campaign_currency, c.fx_rate, c.fx_valid_from
                    ),
                    null
                )
            )
        end as reason,
    from orders as o
    left join converted as c on o.source = c.source and o.order_id = c.order_id
    left join misses as m on o.source = m.source and o.order_id = m.order_id
    left join creators as cr
        on c.campaign = cr.campaign and c.platform = cr.platform and c.handle = cr.handle
    where c.campaign is not null or m.reason is not null
)

select * from final
