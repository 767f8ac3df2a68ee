-- v9: sponsored posts (issue #18). What a platform itself says about a post's paid
-- promotion (YouTube's paidProductPlacementDetails) is its own entity, loaded exactly once
-- like deletions; core.posts is not altered (an ALTER on a table whose load_id defaults to
-- nextval breaks DuckDB 1.5's WAL replay, see 0005). No load_id default here either.

-- one row per post and flag the platform reported, the newest observation winning: a
-- creator who removes the flag leaves disclosed = false
create table core.post_disclosures (
    platform varchar not null,
    post_id varchar not null,
    kind varchar not null,
    disclosed boolean not null,
    first_seen_at timestamp not null,
    observed_at timestamp not null,
    load_id bigint
);

-- disclosure terms found in each post version (sql/intermediate/int_post_disclosure_hits.sql),
-- kept between runs like the niche term hits; no NOT NULL: the model's data tests check
create schema if not exists intermediate;
create table intermediate.int_post_disclosure_hits (
    platform varchar,
    post_id varchar,
    account_id varchar,
    created_at timestamp,
    term_type varchar,
    matched_term varchar
);
