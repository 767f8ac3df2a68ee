-- grain: one row per as-of instant per niche per platform with an account loaded, sighted or queued before as_of
-- key: as_of, niche, platform
-- not_null: as_of, niche, platform, terms_listed, terms_hit, sightings, accounts_sighted
-- not_null: accounts_already_tracked, accounts_queued_elsewhere, accounts_queued
-- not_null: accounts_with_profile, accounts_loaded, accounts_in_candidate_tier, accounts_candidates
-- check: terms_hit <= terms_listed and accounts_sighted <= sightings
-- check: accounts_already_tracked + accounts_queued_elsewhere <= accounts_sighted
-- check: accounts_loaded <= accounts_with_profile and accounts_with_profile <= accounts_queued
-- check: accounts_in_candidate_tier <= accounts_loaded and accounts_candidates <= accounts_loaded
-- What niche_discovery saw, queued and got loaded, per niche and platform, as of as_of:
-- sightings first made, queueings made (queued_for) and rows first loaded before it.
-- A niche's terms as sightings name them: '#tag', or the keyword as discovery searches
-- it (lowercase NFC); a term two niches list counts for both.
with niche_terms as (
    select distinct
        niche,
        case
            when term_type = 'hashtag' then '#' || term
            else lower(nfc_normalize(ltrim(term, '#')))
        end as term,
    from config.niche_terms
),

listed as (
    select niche, count(*) as terms_listed,
    from niche_terms
    group by niche
),

sightings as (
    select d.platform, d.account_id, t.niche, t.term,
    from staging.stg_account_discoveries as d
    inner join niche_terms as t on d.term = t.term
    where d.first_seen_at < getvariable('as_of')
),

queue as (
    select platform, account_id, niche,
    from staging.stg_tracking_queue
    where queued_for <= getvariable('as_of')
),

accounts as (
    select platform, account_id,
    from staging.stg_accounts
    where first_seen_at < getvariable('as_of')
),

-- a platform tracked but never searched gets its zeros: discovery found nothing there
platforms as (
    select platform from sightings
    union
    select platform from queue
    union
    select platform from accounts
),

-- the queued accounts with an own post loaded before as_of: only they are looked up (the
-- distinct accounts of every post on record cost 1.5 s a day at 5 M posts)
posting as (
    select distinct posts.platform, posts.account_id,
    from staging.stg_posts as posts
    semi join queue
        on posts.platform = queue.platform and posts.account_id = queue.account_id
    where posts.is_own_post and posts.first_seen_at < getvariable('as_of')
),

in_tier as (
    select f.platform, f.account_id,
    from intermediate.int_account_followers as f
    inner join config.candidate_tier as c on f.tier = c.tier
),

candidates as (
    select scope as niche, platform, account_id,
    from marts.candidates
    where as_of = getvariable('as_of') and scope_type = 'niche'
),

sighted as (
    select
        s.niche,
        s.platform,
        count(*) as sightings,
        count(distinct s.term) as terms_hit,
        count(distinct s.account_id) as accounts_sighted,
        -- tracked without discovery: loaded, never queued (config/sources.yaml's)
        count(distinct s.account_id) filter (
            where a.account_id is not null and q.account_id is null
        ) as accounts_already_tracked,
        count(distinct s.account_id) filter (
            where q.niche <> s.niche
        ) as accounts_queued_elsewhere,
    from sightings as s
    left join accounts as a on s.platform = a.platform and s.account_id = a.account_id
    left join queue as q on s.platform = q.platform and s.account_id = q.account_id
    group by s.niche, s.platform
),

queued as (
    select
        q.niche,
        q.platform,
        count(*) as accounts_queued,
        count(a.account_id) as accounts_with_profile,
        count(p.account_id) filter (where a.account_id is not null) as accounts_loaded,
        count(t.account_id) filter (
            where a.account_id is not null and p.account_id is not null
        ) as accounts_in_candidate_tier,
        count(c.account_id) filter (
            where a.account_id is not null and p.account_id is not null
        ) as accounts_candidates,
    from queue as q
    left join accounts as a on q.platform = a.platform and q.account_id = a.account_id
    left join posting as p on q.platform = p.platform and q.account_id = p.account_id
    left join in_tier as t on q.platform = t.platform and q.account_id = t.account_id
    left join candidates as c
        on q.niche = c.niche and q.platform = c.platform and q.account_id = c.account_id
    group by q.niche, q.platform
),

funnel as (
    select
        getvariable('as_of') as as_of,
        n.niche,
        p.platform,
        coalesce(l.terms_listed, 0) as terms_listed,
        coalesce(s.terms_hit, 0) as terms_hit,
        coalesce(s.sightings, 0) as sightings,
        coalesce(s.accounts_sighted, 0) as accounts_sighted,
        coalesce(s.accounts_already_tracked, 0) as accounts_already_tracked,
        coalesce(s.accounts_queued_elsewhere, 0) as accounts_queued_elsewhere,
        coalesce(q.accounts_queued, 0) as accounts_queued,
        coalesce(q.accounts_with_profile, 0) as accounts_with_profile,
        coalesce(q.accounts_loaded, 0) as accounts_loaded,
        coalesce(q.accounts_in_candidate_tier, 0) as accounts_in_candidate_tier,
        coalesce(q.accounts_candidates, 0) as accounts_candidates,
    from config.niches as n
    cross join platforms as p
    left join listed as l on n.niche = l.niche
    left join sighted as s on n.niche = s.niche and p.platform = s.platform
    left join queued as q on n.niche = q.niche and p.platform = q.platform
)

select * from funnel
