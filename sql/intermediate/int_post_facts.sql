-- grain: one row per post ever loaded, with the facts that do not depend on the run's as_of
-- key: platform, post_id
-- not_null: platform, post_id, account_id, created_at, kind, is_own_post, first_seen_at, snapshot_after_at
-- check: snapshot_before_at is null or snapshot_before_at <= created_at
-- check: snapshot_after_at > created_at
-- materialized: incremental
-- replace_by: platform, post_id
-- cluster_by: created_at
-- let: loaded_from = (select min(created_at) from staging.stg_posts where getvariable('since_load') is null or load_id > getvariable('since_load'))
-- let: new_snapshots_from = (select min(observed_at) from staging.stg_account_snapshots where load_id > getvariable('since_load'))
-- let: touched_from = (select min(posts.created_at) from staging.stg_posts as posts semi join (select platform, post_id from staging.stg_post_metrics where load_id > getvariable('since_load') union select platform, post_id from staging.stg_post_deletions where load_id > getvariable('since_load')) as touched on posts.platform = touched.platform and posts.post_id = touched.post_id)
-- Kept between runs: a run recomputes only the posts whose inputs were loaded since its
-- last run, and reads older rows only where they can matter, so a day costs in proportion
-- to what the day loaded. int_own_posts applies the run's as_of to these facts.
--   * a post loaded since (new, edited or re-fetched): computed from staging;
--   * a post whose counts, deletion or account snapshots were loaded since: its facts on
--     record, moved only by the new rows.
-- snapshot_after_at is 'infinity' while no snapshot follows the post, so that the posts a
-- new snapshot can move are found by one comparison the scan can prune on.
with loaded_posts as (
    select platform, post_id, account_id, created_at, kind, is_own_post, language,
           hashtags, first_seen_at,
    from staging.stg_posts
    where getvariable('since_load') is null or load_id > getvariable('since_load')
),

new_snapshots as (
    select platform, account_id, observed_at, followers,
    from staging.stg_account_snapshots
    where load_id > getvariable('since_load')
),

new_metrics as (
    select * from staging.stg_post_metrics
    where load_id > getvariable('since_load')
),

-- posts on record that the new rows can change: a snapshot inside the span between the
-- post's snapshot before and its snapshot after, ends included (it becomes one of them,
-- or replaces one loaded again with other counts), or new counts or a deletion of the post
moved_by_snapshots as (
    select facts.*
    from intermediate.int_post_facts as facts
    semi join new_snapshots as new_snap
        on facts.platform = new_snap.platform
        and facts.account_id = new_snap.account_id
        and new_snap.observed_at <= facts.snapshot_after_at
        -- no OR here: with one, DuckDB joins by nested loops, new snapshots × posts on record
        and new_snap.observed_at >= coalesce(facts.snapshot_before_at, '-infinity'::timestamp)
    where facts.snapshot_after_at >= getvariable('new_snapshots_from')
),

recounted_or_deleted as (
    select facts.*
    from intermediate.int_post_facts as facts
    semi join (
        select platform, post_id from new_metrics
        union
        select platform, post_id from staging.stg_post_deletions
        where load_id > getvariable('since_load')
    ) as touched
        on facts.platform = touched.platform and facts.post_id = touched.post_id
    -- the oldest touched post's time (touched_from, from the posts' narrow columns): the
    -- scan then reads only the row groups from there on, not every fact's every column
    where facts.created_at >= getvariable('touched_from')
),

kept as (
    select touched.*
    from (
        select * from moved_by_snapshots
        union
        select * from recounted_or_deleted
    ) as touched
    anti join loaded_posts as loaded
        on touched.platform = loaded.platform and touched.post_id = loaded.post_id
),

-- the new snapshots nearest to each kept post; a tie with the one on record goes to the
-- new row (a snapshot loaded again)
kept_before as (
    select kept.*, new_snap.observed_at as new_before_at, new_snap.followers as new_before,
    from kept
    asof left join new_snapshots as new_snap
        on kept.platform = new_snap.platform
        and kept.account_id = new_snap.account_id
        and kept.created_at >= new_snap.observed_at
),

kept_both as (
    select kept_before.*, new_snap.observed_at as new_after_at, new_snap.followers as new_after,
    from kept_before
    asof left join new_snapshots as new_snap
        on kept_before.platform = new_snap.platform
        and kept_before.account_id = new_snap.account_id
        and kept_before.created_at < new_snap.observed_at
),

kept_new_metrics as (
    select new_metrics.*
    from new_metrics
    semi join kept
        on new_metrics.platform = kept.platform
        and new_metrics.post_id = kept.post_id
    qualify row_number() over (
        partition by new_metrics.platform, new_metrics.post_id order by new_metrics.observed_at desc
    ) = 1
),

-- which of the fact's parts the new rows move (NULL: nothing new for that part)
kept_moves as (
    select
        k.*,
        k.new_before_at >= coalesce(k.snapshot_before_at, '-infinity'::timestamp)
            as before_moved,
        k.new_after_at <= k.snapshot_after_at as after_moved,
        m.observed_at >= coalesce(k.metrics_observed_at, '-infinity'::timestamp)
            as recounted,
        m.observed_at as new_counts_at, m.likes as new_likes, m.comments as new_comments,
        m.shares as new_shares, m.quotes as new_quotes, m.views as new_views,
    from kept_both as k
    left join kept_new_metrics as m on k.platform = m.platform and k.post_id = m.post_id
),

kept_facts as (
    select
        platform, post_id, account_id, created_at, kind, is_own_post, language, hashtags,
        first_seen_at,
        if(before_moved, new_before_at, snapshot_before_at) as snapshot_before_at,
        if(before_moved, new_before, followers_before) as followers_before,
        if(after_moved, new_after_at, snapshot_after_at) as snapshot_after_at,
        if(after_moved, new_after, followers_after) as followers_after,
        if(recounted, new_counts_at, metrics_observed_at) as metrics_observed_at,
        if(recounted, new_likes, likes) as likes,
        if(recounted, new_comments, comments) as comments,
        if(recounted, new_shares, shares) as shares,
        if(recounted, new_quotes, quotes) as quotes,
        if(recounted, new_views, views) as views,
    from kept_moves
),

-- loaded posts: snapshots from a week before the oldest of them are read first ...
-- (a rebuild reads them all: its NULL since_load prunes the branch with the semi join, which
-- would hash every post)
recent_snapshots as (
    select snaps.platform, snaps.account_id, snaps.observed_at, snaps.followers,
    from staging.stg_account_snapshots as snaps
    where getvariable('since_load') is null
    union all
    select snaps.platform, snaps.account_id, snaps.observed_at, snaps.followers,
    from staging.stg_account_snapshots as snaps
    semi join (select distinct platform, account_id from loaded_posts) as loaded_accounts
        on snaps.platform = loaded_accounts.platform
        and snaps.account_id = loaded_accounts.account_id
    where getvariable('since_load') is not null
        and snaps.observed_at >= getvariable('loaded_from') - interval 7 days
),

-- ... each post between its account's snapshots in one sorted pass (two ASOF joins each
-- sorted every post with all its columns: 70 of the 80 s of a 5 M rebuild); a snapshot
-- at the post's time sorts before it, so it is the post's snapshot before
snapshot_spans as (
    select platform, post_id,
           last_value(snap ignore nulls) over (
               partition by platform, account_id order by event_at asc, is_post asc
               rows between unbounded preceding and current row
           ) as before_snap,
           first_value(snap ignore nulls) over (
               partition by platform, account_id order by event_at asc, is_post asc
               rows between current row and unbounded following
           ) as after_snap,
    from (
        select platform, account_id, created_at as event_at, true as is_post, post_id,
               null::struct(observed_at timestamp, followers bigint) as snap,
        from loaded_posts
        union all
        select platform, account_id, observed_at as event_at, false as is_post,
               null as post_id,
               { 'observed_at': observed_at, 'followers': followers } as snap,
        from recent_snapshots
    ) as events
    qualify is_post
),

loaded_before as (
    select loaded_posts.*,
           spans.before_snap.observed_at as snapshot_before_at,
           spans.before_snap.followers as followers_before,
           spans.after_snap.observed_at as recent_after_at,
           spans.after_snap.followers as recent_followers_after,
    from loaded_posts
    inner join snapshot_spans as spans
        on loaded_posts.platform = spans.platform and loaded_posts.post_id = spans.post_id
),

-- ... and only a post with none at or before it looks further back, at its account's
-- whole history
older_before as (
    select missing.platform, missing.post_id, snap.observed_at as snapshot_before_at,
           snap.followers as followers_before,
    from (
        select * from loaded_before
        where snapshot_before_at is null
    ) as missing
    asof join (
        select snaps.platform, snaps.account_id, snaps.observed_at, snaps.followers,
        from staging.stg_account_snapshots as snaps
        semi join (select distinct platform, account_id from loaded_before
                   where snapshot_before_at is null) as missing_accounts
            on snaps.platform = missing_accounts.platform
            and snaps.account_id = missing_accounts.account_id
    ) as snap
        on missing.platform = snap.platform
        and missing.account_id = snap.account_id
        and missing.created_at >= snap.observed_at
),

loaded_both as (
    select
        b.platform, b.post_id, b.account_id, b.created_at, b.kind, b.is_own_post,
        b.language, b.hashtags, b.first_seen_at,
        coalesce(b.snapshot_before_at, o.snapshot_before_at) as snapshot_before_at,
        if(b.snapshot_before_at is null, o.followers_before, b.followers_before)
            as followers_before,
        coalesce(b.recent_after_at, 'infinity'::timestamp) as snapshot_after_at,
        b.recent_followers_after as followers_after,
    from loaded_before as b
    left join older_before as o on b.platform = o.platform and b.post_id = o.post_id
),

-- the loaded posts' keys, gathered into one list and unnested: DuckDB then estimates one
-- row here and builds its join's hash table on these posts (as a semi join of the counts,
-- it built it on every count on record: 4.8 M at 5 M posts, 0.7 s a day)
loaded_post_keys as (
    select unnest(posts, recursive := true)
    from (
        select list(distinct { 'platform': platform, 'post_id': post_id }) as posts
        from loaded_posts
        where getvariable('since_load') is not null
    ) as loaded_list
),

-- the newest counts on record (int_own_posts falls back to older ones for an earlier
-- as_of): one aggregate, no window sort; a rebuild reads every count, as above
loaded_metrics as (
    select metrics.platform, metrics.post_id,
           arg_max(
               { 'observed_at': metrics.observed_at, 'likes': metrics.likes,
                 'comments': metrics.comments, 'shares': metrics.shares,
                 'quotes': metrics.quotes, 'views': metrics.views },
               metrics.observed_at
           ) as newest,
    from (
        select * from staging.stg_post_metrics
        where getvariable('since_load') is null
        union all
        select metrics.*
        from staging.stg_post_metrics as metrics
        inner join loaded_post_keys as posts
            on metrics.platform = posts.platform and metrics.post_id = posts.post_id
        where getvariable('since_load') is not null
    ) as metrics
    group by metrics.platform, metrics.post_id
),

loaded_facts as (
    select
        p.platform, p.post_id, p.account_id, p.created_at, p.kind, p.is_own_post, p.language,
        p.hashtags, p.first_seen_at, p.snapshot_before_at, p.followers_before,
        p.snapshot_after_at, p.followers_after,
        m.newest.observed_at as metrics_observed_at, m.newest.likes, m.newest.comments,
        m.newest.shares, m.newest.quotes, m.newest.views,
    from loaded_both as p
    left join loaded_metrics as m on p.platform = m.platform and p.post_id = m.post_id
),

final as (
    select facts.*, deletions.deleted_at,  -- inserted by name: the order is the table's
    from (
        select * from loaded_facts
        union all
        select * from kept_facts
    ) as facts
    left join staging.stg_post_deletions as deletions
        on facts.platform = deletions.platform and facts.post_id = deletions.post_id
)

select * from final
