-- grain: one row per campaign (its terms as they stand at as_of) per creator it has had by as_of
-- key: campaign, platform, handle
-- not_null: campaign, platform, handle, starts_on, ends_on, currency, attribution_window_days, window_start, window_end, attribution_end, terms_at
-- check: window_start < window_end and window_end <= attribution_end
-- check: terms_at < window_end
-- The campaign and creator tables of core keep every version of the terms (valid_from,
-- valid_to; a row holds for [valid_from, valid_to)). Here the campaign's version is the one
-- in force just before as_of (the last one, for a campaign taken out of the config since:
-- what it returned stays reported), and a creator is in the campaign once any version of
-- theirs started before as_of. The windows are half-open, in UTC:
--   window      [starts_on 00:00, ends_on + 1 day 00:00): the posts and the clicks it counts
--   attribution [starts_on 00:00, ends_on + 1 + attribution_window_days days 00:00): orders
with campaign_versions as (
    select * from core.campaigns
    where valid_from < getvariable('as_of')
    qualify row_number() over (partition by campaign order by valid_from desc) = 1
),

-- a campaign not started by as_of has nothing to report yet
campaign_terms as (
    select * from campaign_versions
    where starts_on < getvariable('as_of')
),

creator_versions as (
    select
        *,
        lower(ltrim(trim(handle), '@')) as creator_handle,
    from core.campaign_creators
    where valid_from < getvariable('as_of')
),

-- a creator's latest version before as_of names the account
creators as (
    select * from creator_versions
    qualify row_number() over (
        partition by campaign, platform, creator_handle order by valid_from desc
    ) = 1
),

-- an account the terms name only by handle: the tracked account with that handle (or id)
accounts as (
    select platform, account_id, lower(ltrim(handle, '@')) as account_handle,
    from core.accounts
),

final as (
    select
        c.campaign,
        c.platform,
        c.creator_handle as handle,
        coalesce(c.account_id, by_handle.account_id, by_id.account_id) as account_id,
        t.brand,
        t.label,
        t.starts_on,
        t.ends_on,
        t.budget,
        upper(t.currency) as currency,
        t.attribution_window_days,
        t.starts_on::timestamp as window_start,
        (t.ends_on + 1)::timestamp as window_end,
        (t.ends_on + 1 + t.attribution_window_days)::timestamp as attribution_end,
        -- the instant whose terms fix a flat fee: the campaign's last instant seen by as_of
        least(getvariable('as_of'), (t.ends_on + 1)::timestamp) - interval 1 microsecond
            as terms_at,
    from creators as c
    inner join campaign_terms as t on c.campaign = t.campaign
    left join accounts as by_handle
        on c.account_id is null
        and c.platform = by_handle.platform
        and c.creator_handle = by_handle.account_handle
    left join accounts as by_id
        on c.account_id is null
        and c.platform = by_id.platform
        and c.creator_handle = lower(by_id.account_id)
    -- a handle two accounts share (one renamed): the smallest id, so reruns agree
    qualify row_number() over (
        partition by c.campaign, c.platform, c.creator_handle
        order by coalesce(by_handle.account_id, by_id.account_id)
    ) = 1
)

select * from final
