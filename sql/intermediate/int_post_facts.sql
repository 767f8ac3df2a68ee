-- grain: one row per post ever loaded, with the facts that do not depend on the run's as_of
-- key: platform, post_id
-- not_null: platform, post_id, account_id, created_at, kind, is_own_post, first_seen_at
-- check: snapshot_before_at is null or snapshot_before_at <= created_at
-- check: snapshot_after_at is null or snapshot_after_at > created_at
-- materialized: incremental
-- replace_by: platform, post_id
-- prune_by: created_at
-- Kept between runs: a run recomputes only the posts whose inputs were loaded since its
-- last run (the post, its deletion, its counts, or a follower snapshot of its account that
-- can change its followers at posting time), so a day costs in proportion to what the day
-- loaded. int_own_posts applies the run's as_of to these facts.
with new_snapshots as (
    select platform, account_id, min(observed_at) as first_new_at,
    from staging.stg_account_snapshots
    where load_id > getvariable('since_load')
    group by platform, account_id
),

-- the post itself was (re)loaded: its attributes come from staging
loaded_posts as (
    select platform, post_id, account_id, created_at, kind, is_own_post, language,
           hashtags, first_seen_at,
    from staging.stg_posts
    where getvariable('since_load') is null or load_id > getvariable('since_load')
),

-- only its deletion, its counts or its account's snapshots are new: its attributes are
-- the ones already on record
touched as (
    select platform, post_id from staging.stg_post_deletions
    where load_id > getvariable('since_load')
    union
    select platform, post_id from staging.stg_post_metrics
    where load_id > getvariable('since_load')
    union
    -- a snapshot at t can become the one at or before every later post of the account,
    -- and the first one after an earlier post that had none before t
    select facts.platform, facts.post_id
    from intermediate.int_post_facts as facts
    inner join new_snapshots as new
        on facts.platform = new.platform and facts.account_id = new.account_id
    where facts.created_at >= new.first_new_at
        or facts.snapshot_after_at is null
        or facts.snapshot_after_at > new.first_new_at
),

known_posts as (
    select facts.platform, facts.post_id, facts.account_id, facts.created_at, facts.kind,
           facts.is_own_post, facts.language, facts.hashtags, facts.first_seen_at,
    from intermediate.int_post_facts as facts
    semi join touched
        on facts.platform = touched.platform and facts.post_id = touched.post_id
    anti join loaded_posts as loaded
        on facts.platform = loaded.platform and facts.post_id = loaded.post_id
),

posts as (
    select * from loaded_posts
    union all
    select * from known_posts
),

account_snapshots as (
    select snaps.platform, snaps.account_id, snaps.observed_at, snaps.followers,
    from staging.stg_account_snapshots as snaps
    semi join (select distinct platform, account_id from posts) as accounts
        on snaps.platform = accounts.platform and snaps.account_id = accounts.account_id
),

-- followers at posting time: the nearest snapshot at or before the post, whatever its
-- age, and the first one after it (used only when there is none before)
with_before as (
    select posts.*, snap.observed_at as snapshot_before_at, snap.followers as followers_before,
    from posts
    asof left join account_snapshots as snap
        on posts.platform = snap.platform
        and posts.account_id = snap.account_id
        and posts.created_at >= snap.observed_at
),

with_after as (
    select with_before.*, snap.observed_at as snapshot_after_at,
           snap.followers as followers_after,
    from with_before
    asof left join account_snapshots as snap
        on with_before.platform = snap.platform
        and with_before.account_id = snap.account_id
        and with_before.created_at < snap.observed_at
),

-- the newest counts on record (int_own_posts falls back to older ones for an earlier as_of)
latest_metrics as (
    select metrics.*
    from staging.stg_post_metrics as metrics
    semi join posts on metrics.platform = posts.platform and metrics.post_id = posts.post_id
    qualify row_number() over (
        partition by metrics.platform, metrics.post_id order by metrics.observed_at desc
    ) = 1
),

final as (
    select
        p.platform,
        p.post_id,
        p.account_id,
        p.created_at,
        p.kind,
        p.is_own_post,
        p.language,
        p.hashtags,
        p.first_seen_at,
        deletions.deleted_at,
        p.snapshot_before_at,
        p.followers_before,
        p.snapshot_after_at,
        p.followers_after,
        m.observed_at as metrics_observed_at,
        m.likes,
        m.comments,
        m.shares,
        m.quotes,
        m.views,
    from with_after as p
    left join staging.stg_post_deletions as deletions
        on p.platform = deletions.platform and p.post_id = deletions.post_id
    left join latest_metrics as m
        on p.platform = m.platform and p.post_id = m.post_id
)

select * from final
