-- grain: one row per post version per disclosure term it carries (term_type NULL: it carries none, or is a repost or reply, whose text is not matched)
-- key: platform, post_id, term_type, matched_term
-- not_null: platform, post_id, account_id, created_at
-- check: term_type is null or term_type in ('hashtag', 'phrase')
-- check: (term_type is null) = (matched_term is null)
-- materialized: incremental
-- replace_by: platform, post_id
-- cluster_by: created_at
-- rebuild_slices: (select list(day + interval 1 day order by day) from (select day, posts, sum(posts) over (order by day) as running from (select date_trunc('day', created_at) as day, count(*) as posts from staging.stg_posts group by day)) where (running - posts) // 500000 < running // 500000)
-- let: phrase_words = (select string_agg(distinct list_reduce(string_split(trim(config.word_text(term)), ' '), (a, b) -> if(length(b) > length(a), b, a)), '|') from config.sponsorship_terms where term_type = 'phrase')
-- let: not_paid = (select ' (?:' || string_agg(trim(config.word_text(phrase)), '|') || ') ' from config.sponsorship_exclusions)
-- The text work of sponsored-post detection (config/sponsorship.yaml), done once per post
-- version as int_post_term_hits does it for niche terms: a change to the terms rebuilds it
-- whole. Every post loaded since gets a row, so an edit that drops a disclosure replaces
-- the hits the post had.
with changed as (
    select platform, post_id, account_id, created_at, text, hashtags, is_own_post,
           -- a term under a language matches that language's posts: de for de-AT, pt_BR;
           -- a code that is no language tag counts as none
           nullif(regexp_extract(lower(language), '^[a-z]+'), '') as post_language,
    from staging.stg_posts
    where (getvariable('since_load') is null or load_id > getvariable('since_load'))
        and config.in_rebuild_slice(created_at)
),

-- a phrase's words are each a run of letters in the lowercased NFC text, so a text without
-- any phrase's longest word (most texts) holds no phrase: it skips the cleanup (NULL words)
own_words as (
    select platform, post_id, post_language, hashtags,
           if(
               regexp_matches(
                   lower(nfc_normalize(coalesce(text, ''))), getvariable('phrase_words')
               ),
               config.word_text(text),
               null
           ) as words,
    from changed
    where is_own_post
),

-- words that say a post is not paid ("unbezahlte werbung") go before the phrases are
-- matched; twice, as a match takes the blank the next one starts with
words as (
    select * replace (
        coalesce(
            regexp_replace(
                regexp_replace(words, getvariable('not_paid'), ' ', 'g'),
                getvariable('not_paid'), ' ', 'g'
            ),
            words
        ) as words
    ),
    from own_words
),

terms as (
    select term_type, term, language, trim(config.word_text(term)) as term_words,
    from config.sponsorship_terms
),

-- each distinct word and hashtag of a post once
tokens as (
    select platform, post_id, post_language,
           unnest(list_distinct(string_split(trim(words), ' '))) as token,
    from words
),

post_tags as (
    select platform, post_id, post_language, unnest(list_distinct(hashtags)) as tag,
    from words
),

-- equi-joins on hashtags and one-word phrases; only longer phrases need a substring scan
term_hits as (
    select t.platform, t.post_id, t.post_language,
           terms.language as term_language, terms.term_type, '#' || terms.term as matched_term,
    from post_tags as t
    inner join terms on terms.term_type = 'hashtag' and t.tag = terms.term
    union all
    select t.platform, t.post_id, t.post_language,
           terms.language as term_language, terms.term_type, terms.term as matched_term,
    from tokens as t
    inner join terms
        on terms.term_type = 'phrase'
        and not contains(terms.term_words, ' ')
        and t.token = terms.term_words
    union all
    select w.platform, w.post_id, w.post_language,
           terms.language as term_language, terms.term_type, terms.term as matched_term,
    from words as w
    inner join terms
        on terms.term_type = 'phrase'
        and contains(terms.term_words, ' ')
        and contains(w.words, ' ' || terms.term_words || ' ')
),

-- distinct: one phrase may be listed under several languages
hits as (
    select distinct platform, post_id, term_type, matched_term,
    from term_hits
    -- a term of one language ("pub", "werbung") is an ordinary word in others; a post with
    -- no language on record (Instagram) is matched by every term
    where term_language is null or post_language is null or post_language = term_language
),

-- one join gives every hit its post's account and time, and a post without hits its
-- NULL row
final as (
    select
        changed.platform,
        changed.post_id,
        changed.account_id,
        changed.created_at,
        hits.term_type,
        hits.matched_term,
    from changed
    left join hits on changed.platform = hits.platform and changed.post_id = hits.post_id
)

select * from final
