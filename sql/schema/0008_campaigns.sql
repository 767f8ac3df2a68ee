-- v8: campaigns and what they returned (issue #18).
--
-- The campaign terms come from config/campaigns.yaml; the loader keeps every version of
-- them (valid_from/valid_to), so a fee or code changed mid-campaign keeps both. Orders
-- and link clicks come from shop and web-analytics exports through the landing zone,
-- loaded exactly once like posts; a row that cannot be read is a meta.rejects row
-- (platform = the export's source). Amounts are in the row's own currency; the marts
-- convert them with core.fx_rates. No load_id default here: a column default that calls
-- nextval() breaks DuckDB 1.5's WAL replay of later ALTER/COMMENT statements.

-- one row per campaign per version of its terms
create table core.campaigns (
    campaign varchar not null,
    brand varchar,
    label varchar,
    starts_on date not null,
    ends_on date not null,
    budget decimal(18, 2),
    currency varchar not null,
    attribution_window_days integer not null,
    valid_from timestamp not null,
    valid_to timestamp,
    observed_at timestamp not null
);

-- one row per campaign × creator per version of the creator's fee
create table core.campaign_creators (
    campaign varchar not null,
    platform varchar not null,
    handle varchar not null,
    account_id varchar,
    fee_type varchar not null check (fee_type in ('flat', 'per_post', 'commission')),
    fee_amount decimal(18, 2),
    commission_rate double,
    valid_from timestamp not null,
    valid_to timestamp,
    observed_at timestamp not null
);

-- one row per campaign × creator × tracking key (a promo code, a UTM link, a short
-- link, a campaign hashtag) per version
create table core.campaign_tracking (
    campaign varchar not null,
    platform varchar not null,
    handle varchar not null,
    kind varchar not null check (kind in ('code', 'utm', 'short_link', 'hashtag')),
    code varchar,
    utm_source varchar,
    utm_medium varchar,
    utm_campaign varchar,
    utm_content varchar,
    short_link varchar,
    hashtag varchar,
    valid_from timestamp not null,
    valid_to timestamp,
    observed_at timestamp not null
);

-- one row per campaign × platform × brand account whose mention marks a campaign post
create table core.campaign_brand_handles (
    campaign varchar not null,
    platform varchar not null,
    brand_handle varchar not null,
    valid_from timestamp not null,
    valid_to timestamp,
    observed_at timestamp not null
);

-- one row per currency pair per day a rate starts to hold
create table core.fx_rates (
    currency varchar not null,
    to_currency varchar not null,
    rate double not null check (rate > 0),
    valid_from date not null,
    observed_at timestamp not null
);

-- one row per order of a shop export, the newest export winning (a refund arrives later)
create table core.orders (
    source varchar not null,
    order_id varchar not null,
    ordered_at timestamp not null,
    currency varchar not null,
    subtotal decimal(18, 2) not null,
    total decimal(18, 2) not null,
    discount_codes varchar[] not null,
    landing_url varchar,
    utm_source varchar,
    utm_medium varchar,
    utm_campaign varchar,
    utm_content varchar,
    refunded decimal(18, 2) not null,
    cancelled_at timestamp,
    observed_at timestamp not null,
    load_id bigint,
    financial_status varchar,
    discount_amount decimal(18, 2),
    shipping decimal(18, 2),
    taxes decimal(18, 2)
);

-- one row per click (a short-link export) or per day × UTM tuple (a web-analytics export)
create table core.link_clicks (
    source varchar not null,
    click_key varchar not null,
    clicked_on date not null,
    clicked_at timestamp,
    utm_source varchar,
    utm_medium varchar,
    utm_campaign varchar,
    utm_content varchar,
    short_link varchar,
    clicks bigint not null,
    sessions bigint,
    observed_at timestamp not null,
    load_id bigint,
    views bigint
);
