-- grain: one row per own post of the 90 days before as_of per brand and term type it matches
-- key: platform, post_id, brand, term_type
-- not_null: platform, post_id, account_id, brand, term_type, first_matched_term, matched_term_count, in_30d
with posts as (
    select platform, post_id, account_id, in_30d,
    from intermediate.int_own_posts
),

hits as (
    select platform, post_id, scope as brand, term_type, matched_term,
    from intermediate.int_post_term_hits
    where hit_kind = 'brand'
        and created_at >= getvariable('as_of') - interval 90 days
        and created_at < getvariable('as_of')
),

final as (
    select
        posts.platform,
        posts.post_id,
        any_value(posts.account_id) as account_id,
        hits.brand,
        hits.term_type,
        any_value(posts.in_30d) as in_30d,
        -- a count and one example, not a list: list aggregates are slow over millions of posts
        min(hits.matched_term) as first_matched_term,
        count(*) as matched_term_count,  -- term hits are distinct per post already
    from posts
    inner join hits on posts.platform = hits.platform and posts.post_id = hits.post_id
    group by posts.platform, posts.post_id, hits.brand, hits.term_type
)

select * from final
