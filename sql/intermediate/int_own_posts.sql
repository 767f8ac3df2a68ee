-- grain: one row per own post (original or quote) created in the 90 days before as_of
-- key: platform, post_id
-- not_null: platform, post_id, account_id, created_at, in_7d, in_30d, week_index
-- check: engagement_rate is null or engagement_rate >= 0
-- check: engagement_rate is null or followers_at_post > 0
-- check: week_index between 0 and 12
-- materialized: window
-- read where used (twice): a materialized copy of 1.1 M rows cost more than a second scan
with facts as not materialized (
    select * from intermediate.int_post_facts
    where is_own_post
        and created_at >= getvariable('as_of') - interval 90 days
        and created_at < getvariable('as_of')
        -- what was known at as_of: a post loaded later (a late or backfilled fetch) did not
        -- count then, so a rerun of that day must not count it either
        and first_seen_at < getvariable('as_of')
        -- a post deleted before as_of no longer counts; one deleted later did count then
        and (deleted_at is null or deleted_at >= getvariable('as_of'))
),

-- the facts hold the newest counts on record; a post counted again at or after as_of (a
-- backfill, or a rerun of an earlier day, or a post of the last hours counted after
-- midnight) takes its newest counts from before as_of. Gathered into one list and unnested:
-- DuckDB then estimates one row here and builds its join's hash table on these few posts;
-- joined as a table, it built it on every count on record (4.8 M at 5 M posts: 1.2 s a day)
recounted as materialized (
    select unnest(posts, recursive := true)
    from (
        select list({ 'platform': platform, 'post_id': post_id }) as posts
        from facts
        where metrics_observed_at >= getvariable('as_of')
    ) as recounted_list
),

earlier_metrics as (
    select metrics.*
    from recounted
    inner join staging.stg_post_metrics as metrics
        on recounted.platform = metrics.platform and recounted.post_id = metrics.post_id
    where metrics.observed_at < getvariable('as_of')
    qualify row_number() over (
        partition by metrics.platform, metrics.post_id order by metrics.observed_at desc
    ) = 1
),

-- counts current at as_of are on the fact row itself; only recounted posts join
p as (
    select
        facts.* exclude (likes, comments, shares, quotes, views),
        if(facts.counts_current, facts.likes, earlier.likes) as likes,
        if(facts.counts_current, facts.comments, earlier.comments) as comments,
        if(facts.counts_current, facts.shares, earlier.shares) as shares,
        if(facts.counts_current, facts.quotes, earlier.quotes) as quotes,
        if(facts.counts_current, facts.views, earlier.views) as views,
    from (select *, coalesce(metrics_observed_at < getvariable('as_of'), true)
                        as counts_current,
          from facts) as facts
    left join earlier_metrics as earlier
        on facts.platform = earlier.platform and facts.post_id = earlier.post_id
),

final as (
    select
        p.platform,
        p.post_id,
        p.account_id,
        p.created_at,
        p.kind,
        p.language,
        p.hashtags,
        p.created_at >= getvariable('as_of') - interval 7 days as in_7d,
        p.created_at >= getvariable('as_of') - interval 30 days as in_30d,
        -- 0 = the 7 days before as_of, 12 = the oldest (partial) week of the 90
        floor(epoch(getvariable('as_of') - p.created_at) / (7 * 86400))::integer as week_index,
        -- followers at posting time: the nearest snapshot at or before the post, or, only
        -- for a post older than every snapshot, the first one after it (before as_of)
        case
            when p.snapshot_before_at is not null then p.followers_before
            when p.snapshot_after_at < getvariable('as_of') then p.followers_after
        end as followers_at_post,
        case
            when p.snapshot_before_at is not null then 'at_or_before_post'
            when p.snapshot_after_at < getvariable('as_of') then 'first_after_post'
        end as followers_source,
        p.likes,
        p.comments,
        p.shares,
        p.quotes,
        p.views,
        -- the counts the platform has (config engagement.counts): YouTube and Instagram
        -- give no shares for others' posts, so there an engagement is likes + comments
        p.likes
            + if(coalesce(counted.comments, true), p.comments, 0)
            + if(coalesce(counted.shares, true), p.shares, 0) as engagements,
        -- fixed-point, so that sums and means are exact and a rerun reproduces every digit
        case
            when followers_at_post > 0
                then round(engagements / followers_at_post, 12)::decimal(18, 12)
        end as engagement_rate,
        case
            when p.views > 0 then round(engagements / p.views, 12)::decimal(18, 12)
        end as view_rate,
    from p
    left join config.engagement_counts as counted
        on p.platform = counted.platform
)

select * from final
