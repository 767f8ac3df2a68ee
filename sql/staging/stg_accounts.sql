-- grain: one row per account
-- key: platform, account_id
-- not_null: platform, account_id, handle, status, discovered_via
with source as (
    select * from core.accounts
),

renamed as (
    select
        platform,
        account_id,
        handle,
        display_name,
        bio,
        url,
        home_instance,
        is_bot,
        status,
        moved_to,
        created_at as account_created_at,
        discovered_via,
        first_seen_at,
        observed_at as last_observed_at,
    from source
)

select * from renamed
