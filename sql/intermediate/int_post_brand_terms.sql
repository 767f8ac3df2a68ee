-- grain: one row per own post of the 90 days before as_of per brand and term type it matches
-- key: platform, post_id, brand, term_type
-- not_null: platform, post_id, account_id, brand, term_type, matched_terms, in_30d
with posts as (
    select platform, post_id, account_id, in_30d, words,
    from intermediate.int_own_posts
),

terms as (
    select brand, term_type, term, config.word_text(term) as term_words,
    from config.brand_terms
),

final as (
    select
        posts.platform,
        posts.post_id,
        posts.account_id,
        terms.brand,
        terms.term_type,
        any_value(posts.in_30d) as in_30d,
        list_sort(list_distinct(list(terms.term))) as matched_terms,
    from posts
    inner join terms on contains(posts.words, terms.term_words)
    group by posts.platform, posts.post_id, posts.account_id, terms.brand, terms.term_type
)

select * from final
