-- grain: one row per as-of instant per account with own posts in 30 days per niche
-- key: as_of, platform, account_id, niche
-- not_null: as_of, platform, account_id, niche, niche_posts_30d, own_posts_30d, niche_share
-- check: niche_share between 0 and 1
with own_posts as (
    select platform, account_id, count(*) as own_posts_30d,
    from intermediate.int_post_engagement
    group by platform, account_id
),

matches as (
    select platform, account_id, niche, count(*) as niche_posts_30d,
    from intermediate.int_post_niche_matches
    group by platform, account_id, niche
),

niches as (
    select niche, label from config.niches
),

final as (
    select
        getvariable('as_of') as as_of,
        own_posts.platform,
        own_posts.account_id,
        niches.niche,
        niches.label as niche_label,
        coalesce(matches.niche_posts_30d, 0) as niche_posts_30d,
        own_posts.own_posts_30d,
        coalesce(matches.niche_posts_30d, 0) / own_posts.own_posts_30d as niche_share,
    from own_posts
    cross join niches
    left join matches
        on own_posts.platform = matches.platform
        and own_posts.account_id = matches.account_id
        and niches.niche = matches.niche
)

select * from final
