-- grain: one row per post, repost events included
-- key: platform, post_id
-- not_null: platform, post_id, account_id, created_at, kind, is_own_post
-- check: kind <> 'repost' or original_post_id is not null
-- test_where: created_at >= getvariable('as_of') - interval 90 days and created_at < getvariable('as_of')
with source as (
    select * from core.posts
),

deletions as (
    select platform, post_id, deleted_at, from staging.stg_post_deletions
),

renamed as (
    select
        source.platform,
        source.post_id,
        source.account_id,
        source.created_at,
        source.client_created_at,
        source.text,
        source.language,
        source.hashtags,
        source.mentions,
        source.url,
        source.kind,
        source.original_post_id,
        source.original_account_id,
        -- a repost or a reply is not the author's own content for engagement and niche
        source.kind in ('original', 'quote') as is_own_post,
        deletions.deleted_at,
        source.first_seen_at,
        source.observed_at as last_observed_at,
        source.load_id,  -- the load that last wrote the row (incremental models read by it)
    from source
    left join deletions
        on source.platform = deletions.platform and source.post_id = deletions.post_id
)

select * from renamed
