-- grain: one row per own post of the 90 days before as_of per niche it matches
-- key: platform, post_id, niche
-- not_null: platform, post_id, account_id, niche, matched_terms, in_7d, in_30d, week_index
with posts as (
    select
        platform,
        post_id,
        account_id,
        created_at,
        in_7d,
        in_30d,
        week_index,
        language,
        hashtags,
        words,
    from intermediate.int_own_posts
),

terms as (
    select
        niche,
        term_type,
        term,
        config.word_text(term) as term_words,
    from config.niche_terms
),

hits as (
    select posts.*, terms.niche, '#' || terms.term as matched_term,
    from posts
    inner join terms
        on terms.term_type = 'hashtag' and list_contains(posts.hashtags, terms.term)
    union all
    select posts.*, terms.niche, terms.term as matched_term,
    from posts
    inner join terms
        on terms.term_type = 'keyword' and contains(posts.words, terms.term_words)
),

in_language as (
    select hits.*
    from hits
    where hits.language is null
        or not exists (select 1 from config.niche_languages as l where l.niche = hits.niche)
        or exists (
            select 1 from config.niche_languages as l
            where l.niche = hits.niche and l.language = hits.language
        )
),

final as (
    select
        platform,
        post_id,
        account_id,
        niche,
        any_value(created_at) as created_at,
        any_value(in_7d) as in_7d,
        any_value(in_30d) as in_30d,
        any_value(week_index) as week_index,
        any_value(hashtags) as hashtags,
        list_sort(list_distinct(list(matched_term))) as matched_terms,
    from in_language
    group by platform, post_id, account_id, niche
)

select * from final
