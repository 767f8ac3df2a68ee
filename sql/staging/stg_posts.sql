-- grain: one row per post, repost events included
-- key: platform, post_id
-- not_null: platform, post_id, account_id, created_at, kind, is_own_post
-- check: kind <> 'repost' or original_post_id is not null
with source as (
    select * from core.posts
),

renamed as (
    select
        platform,
        post_id,
        account_id,
        created_at,
        client_created_at,
        text,
        language,
        hashtags,
        mentions,
        url,
        kind,
        original_post_id,
        original_account_id,
        -- a repost or a reply is not the author's own content for engagement and niche
        kind in ('original', 'quote') as is_own_post,
        first_seen_at,
        observed_at as last_observed_at,
    from source
)

select * from renamed
