-- grain: one row per post version per niche or brand term it matches ('none' when it matches nothing, and for a repost or reply, whose text is not matched)
-- key: platform, post_id, hit_kind, scope, term_type, matched_term
-- not_null: platform, post_id, text_hash, created_at, hit_kind
-- check: hit_kind in ('niche', 'brand', 'none')
-- check: (hit_kind = 'none') = (scope is null)
-- materialized: incremental
-- replace_by: platform, post_id
-- cluster_by: created_at
-- rebuild_slices: (select list(day + interval 1 day order by day) from (select day, posts, sum(posts) over (order by day) as running from (select date_trunc('day', created_at) as day, count(*) as posts from staging.stg_posts group by day)) where (running - posts) // 500000 < running // 500000)
-- Text work (normalising, niche and brand matching) is done once per post version: only
-- posts loaded since the last run are matched, so a day's run costs in proportion to the
-- day's posts. A change to this file, to the macros it calls or to the config.* rows it
-- reads (the niche and brand terms) rebuilds it whole; a weight or a tracked account does not.
-- Every post loaded since gets rows, own or not: a post that became a reply or a repost
-- must replace the hits it had as an own post (its 'none' row does).
with changed as (
    select posts.platform, posts.post_id, posts.created_at, posts.text, posts.language,
           posts.hashtags, posts.is_own_post,
           md5(coalesce(posts.text, '') || '#' || array_to_string(posts.hashtags, ' '))
               as text_hash,
    from staging.stg_posts as posts
    where (getvariable('since_load') is null or posts.load_id > getvariable('since_load'))
        and config.in_rebuild_slice(posts.created_at)
),

words as (
    select platform, post_id, language, hashtags, config.word_text(text) as words,
    from changed
    where is_own_post
),

-- each distinct word and hashtag of a post once, and each term once: then every hit below
-- is one row already, with no DISTINCT over millions of hits
tokens as (
    select platform, post_id, language,
           unnest(list_distinct(string_split(trim(words), ' '))) as token,
    from words
),

post_tags as (
    select platform, post_id, language, unnest(list_distinct(hashtags)) as tag,
    from words
),

-- a niche limited to some languages lists them (NULL: any language)
niche_languages as (
    select niche, list(language) as languages,
    from config.niche_languages
    group by niche
),

niche_terms as (
    select terms.niche, terms.term_type, terms.term, terms.term_words, langs.languages,
    from (
        select distinct niche, term_type, term, trim(config.word_text(term)) as term_words,
        from config.niche_terms
    ) as terms
    left join niche_languages as langs on terms.niche = langs.niche
),

-- equi-joins on single words and hashtags; only multi-word terms need a substring scan
niche_term_hits as (
    select t.platform, t.post_id, t.language, terms.languages, terms.niche, terms.term_type,
           '#' || terms.term as matched_term,
    from post_tags as t
    inner join niche_terms as terms on terms.term_type = 'hashtag' and t.tag = terms.term
    union all
    select t.platform, t.post_id, t.language, terms.languages, terms.niche, terms.term_type,
           terms.term as matched_term,
    from tokens as t
    inner join niche_terms as terms
        on terms.term_type = 'keyword' and t.token = terms.term_words
    union all
    select w.platform, w.post_id, w.language, terms.languages, terms.niche, terms.term_type,
           terms.term as matched_term,
    from words as w
    inner join niche_terms as terms
        on terms.term_type = 'keyword'
        and contains(terms.term_words, ' ')
        and contains(w.words, ' ' || terms.term_words || ' ')
),

niche_hits as (
    select platform, post_id, 'niche' as hit_kind, niche as scope, term_type, matched_term,
    from niche_term_hits
    -- a niche limited to some languages ignores posts tagged with another one
    where language is null or languages is null or list_contains(languages, language)
),

brand_terms as (
    select distinct brand, term_type, term, trim(config.word_text(term)) as term_words,
    from config.brand_terms
),

brand_hits as (
    select t.platform, t.post_id, 'brand' as hit_kind, terms.brand as scope, terms.term_type,
           terms.term as matched_term,
    from tokens as t
    inner join brand_terms as terms on t.token = terms.term_words
    union all
    select w.platform, w.post_id, 'brand' as hit_kind, terms.brand as scope, terms.term_type,
           terms.term as matched_term,
    from words as w
    inner join brand_terms as terms
        on contains(terms.term_words, ' ')
        and contains(w.words, ' ' || terms.term_words || ' ')
),

hits as (
    select * from niche_hits
    union all
    select * from brand_hits
),

-- one join gives every hit its post's version and time, and a post without hits its
-- 'none' row
final as (
    select
        changed.platform,
        changed.post_id,
        changed.text_hash,
        changed.created_at,
        coalesce(hits.hit_kind, 'none') as hit_kind,
        hits.scope,
        hits.term_type,
        hits.matched_term,
    from changed
    left join hits on changed.platform = hits.platform and changed.post_id = hits.post_id
)

select * from final
