-- grain: one row per core row that a staging rule keeps out of the signals
-- key: entity, platform, record_key, observed_at
-- not_null: entity, platform, record_key, observed_at, reason
-- The rules are the macros in sql/macros/quarantine_macros.sql; stg_post_metrics and
-- stg_account_snapshots filter on the same macros.
with post_counts as (
    select
        'post_metric_snapshots' as entity,
        platform,
        post_id as record_key,
        observed_at,
        quality.post_counts_problem(likes, comments, shares, quotes, views) as reason,
    from core.post_metric_snapshots
),

follower_counts as (
    select
        'account_snapshots' as entity,
        platform,
        account_id as record_key,
        observed_at,
        quality.follower_count_problem(followers, follower_precision) as reason,
    from core.account_snapshots
),

unioned as (
    select * from post_counts
    union all
    select * from follower_counts
)

select * from unioned
where reason is not null
