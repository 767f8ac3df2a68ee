-- v3: state for incremental transform models.
-- A model materialised incrementally keeps its rows between runs and only computes rows
-- for new or changed inputs; it is rebuilt from scratch whenever its SQL or the config
-- files change, which this table detects by fingerprint.

create table meta.transform_state (
    model varchar primary key,
    fingerprint varchar not null,
    rebuilt_at timestamp not null,
    updated_at timestamp not null
);

-- incremental models keep their rows, so their tables are declared here, not by the runner
create schema if not exists intermediate;

-- one row per niche or brand term an own post matches, plus one 'none' row for a post
-- that matches nothing, so every processed post version is on record
-- (no NOT NULL here: a rebuild re-creates the table empty; the model's data tests check)
create table intermediate.int_post_term_hits (
    platform varchar,
    post_id varchar,
    text_hash varchar,      -- md5 of the text matched: a re-fetch without an edit is skipped
    created_at timestamp,   -- the post's, so window queries skip older hits
    hit_kind varchar,       -- 'niche', 'brand' or 'none'
    scope varchar,              -- the niche or the brand
    term_type varchar,          -- 'hashtag' or 'keyword' (niche); 'must_have' or 'excluded' (brand)
    matched_term varchar
);
