-- grain: one row per account per discovery term it was sighted by ('(profile)': a profile read made during discovery)
-- key: platform, account_id, term
-- not_null: platform, account_id, term, handle, first_seen_at, last_observed_at
with source as (
    select * from core.account_discoveries
),

renamed as (
    select
        platform,
        account_id,
        term,
        handle,
        followers,
        first_seen_at,  -- the first sighting by this term
        observed_at as last_observed_at,
    from source
)

select * from renamed
