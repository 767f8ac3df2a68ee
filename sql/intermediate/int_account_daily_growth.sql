-- grain: one row per account per UTC day with a known follower count in the 90 days before as_of, after its first such day
-- key: platform, account_id, day
-- not_null: platform, account_id, day, followers, prev_followers, days_since_prev, gain
-- not_null: observed_at, prev_observed_at
-- check: days_since_prev >= 1
-- check: prev_observed_at < observed_at
-- materialized: window
with snapshots as (
    select * from staging.stg_account_snapshots
    where observed_at < getvariable('as_of')
        and observed_at >= getvariable('as_of') - interval 91 days
        and followers is not null
),

-- the last count of each day
daily as (
    select
        platform,
        account_id,
        observed_at::date as day,
        arg_max(followers, observed_at) as followers,
        max(observed_at) as last_observed_at,
    from snapshots
    group by platform, account_id, observed_at::date
),

with_previous as (
    select
        *,
        lag(day) over by_day as prev_day,
        lag(followers) over by_day as prev_followers,
        lag(last_observed_at) over by_day as prev_observed_at,
    from daily
    window by_day as (partition by platform, account_id order by day)
),

final as (
    select
        platform,
        account_id,
        day,
        followers,
        prev_followers,
        -- the gain happened between these two observations
        prev_observed_at,
        last_observed_at as observed_at,
        date_diff('day', prev_day, day) as days_since_prev,
        followers - prev_followers as gain,
        -- a gap of several days spreads its gain evenly over them
        (followers - prev_followers) / date_diff('day', prev_day, day) as gain_per_day,
    from with_previous
    where prev_day is not null
)

select * from final
