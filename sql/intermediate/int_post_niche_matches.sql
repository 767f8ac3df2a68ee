-- grain: one row per own post created in the 30 days before as_of per niche it matches
-- key: platform, post_id, niche
-- not_null: platform, post_id, account_id, niche, matched_terms
with posts as (
    select
        platform,
        post_id,
        account_id,
        language,
        hashtags,
        config.word_text(text) as words,
    from staging.stg_posts
    where is_own_post
        and created_at >= getvariable('as_of') - interval 30 days
        and created_at < getvariable('as_of')
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
        list_sort(list_distinct(list(matched_term))) as matched_terms,
    from in_language
    group by platform, post_id, account_id, niche
)

select * from final
