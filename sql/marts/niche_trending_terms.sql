-- grain: one row per as-of instant per niche per hashtag on its posts of the last 14 days
-- key: as_of, niche, term
-- not_null: as_of, niche, term, mentions_7d, mentions_prev_7d, trend_rank
with recent as (
    select matches.niche, posts.hashtags, posts.in_7d,
    from intermediate.int_post_niche_matches as matches
    inner join intermediate.int_own_posts as posts
        on matches.platform = posts.platform and matches.post_id = posts.post_id
    where matches.niche is not null
        and matches.created_at >= getvariable('as_of') - interval 14 days
        and matches.created_at < getvariable('as_of')
        -- the same bound on the posts (a match has its post's created_at): the join then
        -- hashes two weeks of posts, not all 90 days'
        and posts.created_at >= getvariable('as_of') - interval 14 days
),

terms as (
    select niche, unnest(hashtags) as term, in_7d,
    from recent
),

counts as (
    select
        niche,
        term,
        count(*) filter (where in_7d) as mentions_7d,
        count(*) filter (where not in_7d) as mentions_prev_7d,
    from terms
    group by niche, term
),

final as (
    select
        getvariable('as_of') as as_of,
        niche,
        term,
        mentions_7d,
        mentions_prev_7d,
        mentions_7d - mentions_prev_7d as rise,
        (mentions_7d + 1) / (mentions_prev_7d + 1) as rise_ratio,
        mentions_7d >= config.setting('niche.trending_min_mentions')
        and mentions_7d > mentions_prev_7d as is_trending,
        row_number() over (
            partition by niche
            order by mentions_7d - mentions_prev_7d desc, mentions_7d desc, term asc
        ) as trend_rank,
    from counts
)

select * from final
