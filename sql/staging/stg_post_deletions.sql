-- grain: one row per post known to be deleted
-- key: platform, post_id
-- not_null: platform, post_id, deleted_at
with source as (
    select * from core.post_deletions
),

renamed as (
    select
        platform,
        post_id,
        first_seen_at as deleted_at,  -- the post counts as deleted from its first sighting
        load_id,
    from source
)

select * from renamed
