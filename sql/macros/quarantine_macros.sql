-- why a core row is kept out of the signals (NULL: it is fine). Staging models filter on
-- these and staging.stg_quarantine lists what they kept out, so one platform's bad counts
-- never fail the data tests, and so the signals, of every platform. They live in their
-- own schema, not config: they read no setting, so editing config/*.yaml must not rebuild
-- the models that use them.

create schema if not exists quality;

-- the text is built only for a row with a negative count: building it for every row cost
-- 0.3 s per read of the 4.8 M counts on record at 5 M posts (0.03 s so)
create or replace macro quality.post_counts_problem(likes, comments, shares, quotes, views) as
    case when likes < 0 or comments < 0 or shares < 0 or quotes < 0 or views < 0 then
        concat_ws(', ',
            case when likes < 0 then 'negative likes' end,
            case when comments < 0 then 'negative comments' end,
            case when shares < 0 then 'negative shares' end,
            case when quotes < 0 then 'negative quotes' end,
            case when views < 0 then 'negative views' end
        )
    end;

create or replace macro quality.follower_count_problem(followers, follower_precision) as
    case
        when followers < 0 then 'negative followers'
        when (followers is null) != (follower_precision = 'hidden')
            then 'followers ' || coalesce(followers::varchar, 'NULL')
                || ' with precision ' || coalesce(follower_precision, 'NULL')
    end;
