-- v5: which load brought each row, so incremental transforms find what changed since their
-- last run by a pruned scan instead of comparing every row.
-- Every load transaction takes one value of meta.load_seq and stamps the rows it inserts or
-- merges; a transform run takes one value before it reads, its watermark. Loads and
-- transforms never overlap (one writer per DuckDB file), so "load_id > watermark" is
-- exactly "loaded after that run". Rows from before this version keep NULL: the first run
-- of the new models rebuilds them whole anyway. Rows inserted by hand get a fresh value.

create sequence meta.load_seq;

alter table core.posts add column load_id bigint;
alter table core.posts alter column load_id set default nextval('meta.load_seq');
alter table core.post_metric_snapshots add column load_id bigint;
alter table core.post_metric_snapshots alter column load_id set default nextval('meta.load_seq');
alter table core.account_snapshots add column load_id bigint;
alter table core.account_snapshots alter column load_id set default nextval('meta.load_seq');
alter table core.post_deletions add column load_id bigint;
alter table core.post_deletions alter column load_id set default nextval('meta.load_seq');

-- the watermark of an incremental model: the load_seq value its last run took
alter table meta.transform_state add column load_watermark bigint;

-- per-post facts kept between runs (sql/intermediate/int_post_facts.sql); no NOT NULL, as
-- for int_post_term_hits: the model's data tests check
create table intermediate.int_post_facts (
    platform varchar,
    post_id varchar,
    account_id varchar,
    created_at timestamp,
    kind varchar,
    is_own_post boolean,
    language varchar,
    hashtags varchar[],
    first_seen_at timestamp,
    deleted_at timestamp,
    snapshot_before_at timestamp,   -- the nearest follower snapshot at or before the post
    followers_before bigint,
    snapshot_after_at timestamp,    -- the first one after it
    followers_after bigint,
    metrics_observed_at timestamp,  -- the newest counts on record
    likes bigint,
    comments bigint,
    shares bigint,
    quotes bigint,
    views bigint
);
