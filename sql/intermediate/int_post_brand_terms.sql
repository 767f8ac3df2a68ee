-- grain: one row per own post of the 90 days before as_of per brand and term type it matches
-- key: platform, post_id, brand, term_type
-- not_null: platform, post_id, account_id, brand, term_type, matched_terms, in_30d
with posts as (
    select platform, post_id, account_id, in_30d,
    from intermediate.int_own_posts
),

-- only the window's posts are unnested
hits as (
    select features.platform, features.post_id, unnest(features.brand_hits) as hit,
    from intermediate.int_post_text_features as features
    semi join posts
        on features.platform = posts.platform and features.post_id = posts.post_id
),

final as (
    select
        posts.platform,
        posts.post_id,
        any_value(posts.account_id) as account_id,
        hits.hit.brand as brand,
        hits.hit.term_type as term_type,
        any_value(posts.in_30d) as in_30d,
        list_sort(list(hits.hit.matched_term)) as matched_terms,
    from posts
    inner join hits on posts.platform = hits.platform and posts.post_id = hits.post_id
    group by posts.platform, posts.post_id, hits.hit.brand, hits.hit.term_type
)

select * from final
