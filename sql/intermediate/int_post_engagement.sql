-- grain: one row per own post (original or quote) created in the 30 days before as_of
-- key: platform, post_id
-- not_null: platform, post_id, account_id, created_at
-- check: engagement_rate is null or engagement_rate >= 0
-- check: engagement_rate is null or followers_at_post > 0
with posts as (
    select * from staging.stg_posts
    where is_own_post
        and created_at >= getvariable('as_of') - interval 30 days
        and created_at < getvariable('as_of')
),

latest_metrics as (
    select * from staging.stg_post_metrics
    where observed_at < getvariable('as_of')
    qualify row_number() over (partition by platform, post_id order by observed_at desc) = 1
),

snapshots as (
    select * from staging.stg_account_snapshots
    where observed_at < getvariable('as_of')
),

-- followers at posting time: the nearest snapshot at or before the post ...
with_before as (
    select
        posts.*,
        snap.observed_at as snapshot_before_at,
        snap.followers as followers_before,
    from posts
    asof left join snapshots as snap
        on posts.platform = snap.platform
        and posts.account_id = snap.account_id
        and posts.created_at >= snap.observed_at
),

-- ... or, for posts older than the account's first snapshot, the first one after it
with_after as (
    select
        with_before.*,
        snap.followers as followers_after,
        snap.observed_at as snapshot_after_at,
    from with_before
    asof left join snapshots as snap
        on with_before.platform = snap.platform
        and with_before.account_id = snap.account_id
        and with_before.created_at < snap.observed_at
),

final as (
    select
        p.platform,
        p.post_id,
        p.account_id,
        p.created_at,
        p.kind,
        case
            when p.snapshot_before_at is not null then p.followers_before
            else p.followers_after
        end as followers_at_post,
        case
            when p.snapshot_before_at is not null then 'at_or_before_post'
            when p.snapshot_after_at is not null then 'first_after_post'
        end as followers_source,
        m.likes,
        m.comments,
        m.shares,
        m.quotes,
        m.views,
        m.likes + m.comments + m.shares as engagements,
        -- fixed-point, so that sums and means are exact and a rerun reproduces every digit
        case
            when followers_at_post > 0
                then round(engagements / followers_at_post, 12)::decimal(18, 12)
        end as engagement_rate,
    from with_after as p
    left join latest_metrics as m
        on p.platform = m.platform and p.post_id = m.post_id
)

select * from final
