-- v6: niche and brand matches are kept per post between runs, like the term hits they are
-- read from, instead of being re-materialised for the 90-day window on every run: a day's
-- run writes the matches of the day's posts only, and the marts take the window from them.
-- The tables the runner created for the window-sized models are replaced; the first run
-- after this version fills them whole (their fingerprint is new).

create schema if not exists intermediate;
drop table if exists intermediate.int_post_niche_matches;
drop table if exists intermediate.int_post_brand_terms;

-- one row per own post per niche it matches; niche NULL for a post that matches none, so
-- that a post matched again (an edit) replaces every row it had
create table intermediate.int_post_niche_matches (
    platform varchar,
    post_id varchar,
    created_at timestamp,   -- the post's, so window queries skip older rows
    niche varchar,
    first_matched_term varchar,
    matched_term_count bigint
);

-- one row per own post per brand and term type it matches; brand NULL when none
create table intermediate.int_post_brand_terms (
    platform varchar,
    post_id varchar,
    created_at timestamp,
    brand varchar,
    term_type varchar,
    first_matched_term varchar,
    matched_term_count bigint
);
