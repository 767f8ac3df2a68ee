-- grain: one row per own post (original or quote) that carries any sponsorship evidence: a disclosure hashtag or phrase, or the platform's own paid-promotion flag
-- key: platform, post_id
-- not_null: platform, post_id, account_id, created_at, evidence, is_platform_flagged, is_text_disclosed
-- check: len(evidence) > 0
-- check: is_platform_flagged or is_text_disclosed
-- Rebuilt each run from the per-post hits (their text work is incremental) and the flags
-- as last reported; the window, and whether a post still counted at as_of, come from
-- int_own_posts, which the marts join. Campaign evidence (a campaign's hashtag, link, code
-- or brand handle) needs the campaign tables and is int_campaign_posts' own.
with text_evidence as (
    select platform, post_id, account_id, created_at,
           list(term_type || ':' || matched_term order by term_type, matched_term) as evidence,
    from intermediate.int_post_disclosure_hits
    where term_type is not null
    group by platform, post_id, account_id, created_at
),

-- the flag as the newest observation has it: false when the creator took it off
flagged as (
    select platform, post_id,
           list('platform:' || kind order by kind) as evidence,
    from core.post_disclosures
    where disclosed
    group by platform, post_id
),

flagged_posts as (
    select posts.platform, posts.post_id, posts.account_id, posts.created_at,
           flagged.evidence,
    from flagged
    inner join staging.stg_posts as posts
        on flagged.platform = posts.platform and flagged.post_id = posts.post_id
    where posts.is_own_post
),

final as (
    select
        coalesce(t.platform, f.platform) as platform,
        coalesce(t.post_id, f.post_id) as post_id,
        coalesce(t.account_id, f.account_id) as account_id,
        coalesce(t.created_at, f.created_at) as created_at,
        -- the platform's flag first: the strongest evidence
        coalesce(f.evidence, []) || coalesce(t.evidence, []) as evidence,
        f.post_id is not null as is_platform_flagged,
        t.post_id is not null as is_text_disclosed,
    from text_evidence as t
    full outer join flagged_posts as f
        on t.platform = f.platform and t.post_id = f.post_id
)

select * from final
