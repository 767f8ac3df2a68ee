-- grain: one row per account niche_discovery queued for tracking
-- key: platform, account_id
-- not_null: platform, account_id, handle, niche, term, queued_at, queued_for
with source as (
    select * from meta.tracking_queue
),

renamed as (
    select
        platform,
        account_id,
        handle,
        niche,
        term,
        followers,
        queued_at,
        queued_for,  -- the data-interval end of the niche_discovery run that queued it
    from source
)

select * from renamed
