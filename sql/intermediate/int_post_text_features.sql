-- grain: one row per own post (original or quote) ever loaded
-- key: platform, post_id
-- not_null: platform, post_id, observed_at, niche_hits, brand_hits
-- materialized: incremental
-- Text work (normalising, niche and brand matching) is done once per post and version:
-- only posts new or edited since the last run are computed here, so a day's run costs
-- in proportion to the day's posts. Any change to this file or to config/ rebuilds it.
with pending as (
    select posts.platform, posts.post_id, posts.last_observed_at as observed_at,
           posts.text, posts.language, posts.hashtags,
    from staging.stg_posts as posts
    where posts.is_own_post
        and not exists (
            select 1 from intermediate.int_post_text_features as done
            where done.platform = posts.platform
                and done.post_id = posts.post_id
                and done.observed_at = posts.last_observed_at
        )
),

words as (
    select *, config.word_text(text) as words, from pending
),

tokens as (
    select platform, post_id, language, unnest(string_split(trim(words), ' ')) as token,
    from words
),

post_tags as (
    select platform, post_id, language, unnest(hashtags) as tag,
    from words
),

niche_terms as (
    select niche, term_type, term, trim(config.word_text(term)) as term_words,
    from config.niche_terms
),

-- equi-joins on single words and hashtags; only multi-word keywords need a substring scan
niche_term_hits as (
    select t.platform, t.post_id, t.language, terms.niche, '#' || terms.term as matched_term,
    from post_tags as t
    inner join niche_terms as terms on terms.term_type = 'hashtag' and t.tag = terms.term
    union all
    select t.platform, t.post_id, t.language, terms.niche, terms.term as matched_term,
    from tokens as t
    inner join niche_terms as terms
        on terms.term_type = 'keyword' and t.token = terms.term_words
    union all
    select w.platform, w.post_id, w.language, terms.niche, terms.term as matched_term,
    from words as w
    inner join niche_terms as terms
        on terms.term_type = 'keyword'
        and contains(terms.term_words, ' ')
        and contains(w.words, ' ' || terms.term_words || ' ')
),

niche_hits as (
    select distinct platform, post_id, niche, matched_term,
    from niche_term_hits as hits
    -- a niche limited to some languages ignores posts tagged with another one
    where hits.language is null
        or not exists (select 1 from config.niche_languages as l where l.niche = hits.niche)
        or exists (
            select 1 from config.niche_languages as l
            where l.niche = hits.niche and l.language = hits.language
        )
),

brand_terms as (
    select brand, term_type, term, trim(config.word_text(term)) as term_words,
    from config.brand_terms
),

brand_term_hits as (
    select t.platform, t.post_id, terms.brand, terms.term_type, terms.term,
    from tokens as t
    inner join brand_terms as terms on t.token = terms.term_words
    union all
    select w.platform, w.post_id, terms.brand, terms.term_type, terms.term,
    from words as w
    inner join brand_terms as terms
        on contains(terms.term_words, ' ')
        and contains(w.words, ' ' || terms.term_words || ' ')
),

-- one list per post, sorted (list_sort orders structs field by field)
niche_lists as (
    select
        platform,
        post_id,
        list_sort(list({'niche': niche, 'matched_term': matched_term})) as niche_hits,
    from niche_hits
    group by platform, post_id
),

brand_lists as (
    select
        platform,
        post_id,
        list_sort(list({'brand': brand, 'term_type': term_type, 'matched_term': term}))
            as brand_hits,
    from (select distinct * from brand_term_hits)
    group by platform, post_id
),

final as (
    select
        words.platform,
        words.post_id,
        words.observed_at,
        coalesce(niche_lists.niche_hits, []) as niche_hits,
        coalesce(brand_lists.brand_hits, []) as brand_hits,
    from words
    left join niche_lists
        on words.platform = niche_lists.platform and words.post_id = niche_lists.post_id
    left join brand_lists
        on words.platform = brand_lists.platform and words.post_id = brand_lists.post_id
)

select * from final
