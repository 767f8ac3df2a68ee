-- grain: one row per campaign per own post (original, quote) of one of its creators in the campaign window, known and not deleted at as_of
-- key: campaign, platform, post_id
-- not_null: campaign, platform, post_id, account_id, handle, created_at, evidence, campaign_evidence, disclosure_evidence, is_sponsored, is_organic
-- check: not (is_sponsored and is_organic)
-- check: is_sponsored = (len(campaign_evidence) > 0)
-- check: engagement_rate is null or engagement_rate >= 0
-- A post is sponsored for a campaign when it carries the campaign's own evidence: one of
-- the creator's campaign hashtags, promo codes or tracked links (a short link, or a URL
-- with the creator's UTM values), or a mention of one of the campaign's brand handles, each
-- term in the version valid when the post was created. A post with none of it and no
-- generic disclosure (#ad, paid partnership, a platform's paid flag) is organic; one
-- disclosed but without the campaign's evidence is neither (paid, by someone else).
with creators as (
    select * from intermediate.int_campaign_creators
    where account_id is not null
),

posts as (
    select
        c.campaign,
        c.handle,
        p.platform,
        p.post_id,
        p.account_id,
        p.created_at,
        p.text,
        p.url,
        coalesce(p.text, '') || ' ' || coalesce(p.url, '') as searched,
        list_transform(coalesce(p.hashtags, []), h -> lower(ltrim(h, '#'))) as tags,
        list_transform(coalesce(p.mentions, []), m -> lower(ltrim(m, '@'))) as mentioned,
    from staging.stg_posts as p
    inner join creators as c
        on p.platform = c.platform
        and p.account_id = c.account_id
        and p.created_at >= c.window_start
        and p.created_at < c.window_end
    where p.is_own_post
        and p.created_at < getvariable('as_of')
        -- a constant bound the scan can prune row groups by
        and p.created_at >= (select min(w.window_start) from creators as w)
        -- as int_own_posts: what was known at as_of, and not yet deleted then
        and p.first_seen_at < getvariable('as_of')
        and (p.deleted_at is null or p.deleted_at >= getvariable('as_of'))
),

-- the creator's terms in force when the post was made
terms as (
    select
        posts.campaign,
        posts.platform,
        posts.post_id,
        case t.kind
            when 'hashtag' then
                if(
                    list_contains(posts.tags, lower(ltrim(t.hashtag, '#')))
                    or regexp_matches(
                        posts.searched,
                        '(?i)(^|[^\w#])#' || regexp_escape(ltrim(t.hashtag, '#')) || '($|[^\w])'
                    ),
                    'hashtag:#' || lower(ltrim(t.hashtag, '#')),
                    null
                )
            when 'code' then
                if(
                    regexp_matches(
                        posts.searched, '(?i)(^|[^\w])' || regexp_escape(t.code) || '($|[^\w])'
                    ),
                    'code:' || upper(t.code),
                    null
                )
            when 'short_link' then
                if(
                    regexp_matches(
                        posts.searched,
                        '(?i)(^|[^\w.-])(https?://)?(www\.)?'
                        || regexp_escape(
                            rtrim(regexp_replace(t.short_link, '(?i)^https?://(www\.)?', ''), '/')
                        )
                        || '/?($|[^\w/-])'
                    ),
                    'link:' || lower(
                        rtrim(regexp_replace(t.short_link, '(?i)^https?://(www\.)?', ''), '/')
                    ),
                    null
                )
            when 'utm' then
                -- every UTM value the term sets appears as that parameter of a URL
                if(
                    coalesce(t.utm_source, t.utm_medium, t.utm_campaign, t.utm_content)
                    is not null
                    and list_bool_and(list_transform(
                        [
                            ['utm_source', t.utm_source],
                            ['utm_medium', t.utm_medium],
                            ['utm_campaign', t.utm_campaign],
                            ['utm_content', t.utm_content]
                        ],
                        param -> param[2] is null or regexp_matches(
                            posts.searched,
                            '(?i)[?&]' || param[1] || '=' || regexp_escape(param[2])
                            || '($|[&#\s])'
                        )
                    )),
                    'utm:' || concat_ws(
                        '/',
                        coalesce(t.utm_source, '*'),
                        coalesce(t.utm_medium, '*'),
                        coalesce(t.utm_campaign, '*'),
                        coalesce(t.utm_content, '*')
                    ),
                    null
                )
        end as evidence,
    from posts
    inner join core.campaign_tracking as t
        on posts.campaign = t.campaign
        and posts.platform = t.platform
        and posts.handle = lower(ltrim(trim(t.handle), '@'))
        and posts.created_at >= t.valid_from
        and posts.created_at < coalesce(t.valid_to, 'infinity'::timestamp)
),

-- a mention of the campaign's brand account on the post's platform
brand_mentions as (
    select
        posts.campaign,
        posts.platform,
        posts.post_id,
        'mention:@' || lower(ltrim(b.brand_handle, '@')) as evidence,
    from posts
    inner join core.campaign_brand_handles as b
        on posts.campaign = b.campaign
        and posts.platform = b.platform
        and posts.created_at >= b.valid_from
        and posts.created_at < coalesce(b.valid_to, 'infinity'::timestamp)
    where list_contains(posts.mentioned, lower(ltrim(b.brand_handle, '@')))
        -- a Mastodon mention names the instance too: @brand@shop.social
        or list_contains(
            list_transform(posts.mentioned, m -> split_part(m, '@', 1)),
            lower(ltrim(b.brand_handle, '@'))
        )
        -- not @brandnew, not @brand.other.domain, but @brand. at a sentence's end
        or regexp_matches(
            posts.searched,
            '(?i)(^|[^\w@])@' || regexp_escape(ltrim(b.brand_handle, '@'))
            || '($|[^\w.-]|\.($|\s))'
        )
),

campaign_evidence as (
    select campaign, platform, post_id, list_sort(list_distinct(list(evidence))) as evidence,
    from (
        select * from terms
        union all
        select * from brand_mentions
    ) as found
    where evidence is not null
    group by campaign, platform, post_id
),

-- generic disclosure (#ad, "paid partnership", a platform's paid flag): not the campaign's
-- own evidence, but a post that has it is paid by someone, so not organic
disclosures as (
    select platform, post_id, evidence,
    from intermediate.int_post_sponsorship
),

-- counts as of as_of: the newest on record before it
metrics as (
    select m.*
    from staging.stg_post_metrics as m
    semi join posts on m.platform = posts.platform and m.post_id = posts.post_id
    where m.observed_at < getvariable('as_of')
    qualify row_number() over (
        partition by m.platform, m.post_id order by m.observed_at desc
    ) = 1
),

final as (
    select
        posts.campaign,
        posts.platform,
        posts.post_id,
        posts.account_id,
        posts.handle,
        posts.created_at,
        posts.url,
        list_concat(coalesce(e.evidence, []), coalesce(d.evidence, [])) as evidence,
        coalesce(e.evidence, []) as campaign_evidence,
        coalesce(d.evidence, []) as disclosure_evidence,
        e.evidence is not null as is_sponsored,
        e.evidence is null and coalesce(len(d.evidence), 0) = 0 as is_organic,
        -- followers at posting time, as int_own_posts takes them
        case
            when f.snapshot_before_at is not null then f.followers_before
            when f.snapshot_after_at < getvariable('as_of') then f.followers_after
        end as followers_at_post,
        m.likes,
        m.comments,
        m.shares,
        m.views,
        m.likes
            + if(coalesce(counted.comments, true), m.comments, 0)
            + if(coalesce(counted.shares, true), m.shares, 0) as engagements,
        case
            when followers_at_post > 0
                then round(engagements / followers_at_post, 12)::decimal(18, 12)
        end as engagement_rate,
    from posts
    left join campaign_evidence as e
        on posts.campaign = e.campaign
        and posts.platform = e.platform
        and posts.post_id = e.post_id
    left join disclosures as d
        on posts.platform = d.platform and posts.post_id = d.post_id
    left join intermediate.int_post_facts as f
        on posts.platform = f.platform and posts.post_id = f.post_id
    left join metrics as m
        on posts.platform = m.platform and posts.post_id = m.post_id
    left join config.engagement_counts as counted
        on posts.platform = counted.platform
)

select * from final
