-- grain: one row per own post of the 90 days before as_of per niche it matches
-- key: platform, post_id, niche
-- not_null: platform, post_id, account_id, niche, first_matched_term, matched_term_count, in_7d, in_30d, week_index
with posts as (
    select platform, post_id, account_id, created_at, in_7d, in_30d, week_index,
    from intermediate.int_own_posts
),

hits as (
    select platform, post_id, scope as niche, matched_term,
    from intermediate.int_post_term_hits
    where hit_kind = 'niche'
        and created_at >= getvariable('as_of') - interval 90 days
        and created_at < getvariable('as_of')
),

final as (
    select
        posts.platform,
        posts.post_id,
        any_value(posts.account_id) as account_id,
        hits.niche,
        any_value(posts.created_at) as created_at,
        any_value(posts.in_7d) as in_7d,
        any_value(posts.in_30d) as in_30d,
        any_value(posts.week_index) as week_index,
        -- a count and one example, not a list: list aggregates are slow over millions of posts
        min(hits.matched_term) as first_matched_term,
        count(*) as matched_term_count,  -- term hits are distinct per post already
    from posts
    inner join hits on posts.platform = hits.platform and posts.post_id = hits.post_id
    group by posts.platform, posts.post_id, hits.niche
)

select * from final
